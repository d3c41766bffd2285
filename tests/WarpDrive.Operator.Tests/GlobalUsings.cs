global using AuthMethods = WarpDrive.Config.AuthMethods;
global using BackendTypes = WarpDrive.Config.BackendTypes;
global using AuthSources = WarpDrive.Config.AuthSources;
