// spec.backend.type and spec.auth.method take exactly the node agent's values: one list, in WarpDrive.Config.
global using AuthMethods = WarpDrive.Config.AuthMethods;
global using BackendTypes = WarpDrive.Config.BackendTypes;
global using AuthSources = WarpDrive.Config.AuthSources;
