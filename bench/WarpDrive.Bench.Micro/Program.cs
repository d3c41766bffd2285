using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(WarpDrive.Bench.Micro.CacheReadBenchmarks).Assembly).Run(args);
