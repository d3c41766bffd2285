// Uses the benchmark S3 responder, which runs on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
