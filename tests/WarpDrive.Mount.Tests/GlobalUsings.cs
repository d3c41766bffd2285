global using NUnit.Framework;
// The linked GcsApiTestDouble finds this project's ServerProcess.FreePort.
global using WarpDrive.Mount.Tests.Backends;
