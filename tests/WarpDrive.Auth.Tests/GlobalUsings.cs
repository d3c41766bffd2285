global using NUnit.Framework;
global using WarpDrive.Tests.Shared;
