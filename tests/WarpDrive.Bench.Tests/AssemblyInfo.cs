// The benchmark (and its S3 responder) runs on Linux only, and so do its tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
