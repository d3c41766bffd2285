global using NUnit.Framework;
// ServerProcess (tests/Shared) is linked into this project and Backends.Tests; so is GcsApiTestDouble, which uses it.
global using WarpDrive.Tests.Shared;
