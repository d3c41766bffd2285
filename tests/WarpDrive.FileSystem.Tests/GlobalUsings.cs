global using NUnit.Framework;
global using FileAttributes = WarpDrive.Fuse.FileAttributes;
