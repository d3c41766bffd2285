using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Node.Hosting;

namespace WarpDrive.Deploy.Tests;

/// <summary>SystemdNotifier against a real datagram socket, the way systemd listens for a Type=notify unit.</summary>
[NonParallelizable] // sets the process-wide NOTIFY_SOCKET
public sealed class SystemdNotifierTests
{
    private string? _savedVariable;

    [SetUp]
    public void SaveEnvironment() => _savedVariable = Environment.GetEnvironmentVariable(SystemdNotifier.SocketVariable);

    [TearDown]
    public void RestoreEnvironment() => Environment.SetEnvironmentVariable(SystemdNotifier.SocketVariable, _savedVariable);

    [Test]
    public void Sends_each_state_as_one_datagram_to_a_socket_path()
    {
        using var listener = NotifyListener.AtPath();
        Environment.SetEnvironmentVariable(SystemdNotifier.SocketVariable, listener.Address);
        using var notifier = SystemdNotifier.FromEnvironment(NullLogger.Instance);

        Assert.That(notifier.IsEnabled, Is.True);
        Assert.That(notifier.Ready(), Is.True);
        Assert.That(listener.Receive(), Is.EqualTo("READY=1"));
        Assert.That(notifier.Status("serving 2 backends at /mnt/warpdrive"), Is.True);
        Assert.That(listener.Receive(), Is.EqualTo("STATUS=serving 2 backends at /mnt/warpdrive"));
        Assert.That(notifier.MainPid(4242), Is.True);
        Assert.That(listener.Receive(), Is.EqualTo("MAINPID=4242"));
        Assert.That(notifier.Stopping(), Is.True);
        Assert.That(listener.Receive(), Is.EqualTo("STOPPING=1"));
        Assert.That(listener.HasPending, Is.False);
    }

    [Test]
    public void Sends_to_an_abstract_namespace_socket_written_with_an_at_sign()
    {
        using var listener = NotifyListener.InAbstractNamespace();
        Environment.SetEnvironmentVariable(SystemdNotifier.SocketVariable, listener.Address);
        using var notifier = SystemdNotifier.FromEnvironment(NullLogger.Instance);

        Assert.That(notifier.Ready(), Is.True);
        Assert.That(listener.Receive(), Is.EqualTo("READY=1"));
        Assert.That(notifier.Stopping(), Is.True);
        Assert.That(listener.Receive(), Is.EqualTo("STOPPING=1"));
    }

    [Test]
    public void A_status_with_line_breaks_stays_one_assignment()
    {
        using var listener = NotifyListener.AtPath();
        using var notifier = new SystemdNotifier(listener.Address, NullLogger.Instance);

        notifier.Status("line one\nline two\r\nline three");

        Assert.That(listener.Receive(), Is.EqualTo("STATUS=line one line two line three"));
    }

    [Test]
    public void Several_assignments_in_one_call_arrive_in_one_datagram()
    {
        using var listener = NotifyListener.AtPath();
        using var notifier = new SystemdNotifier(listener.Address, NullLogger.Instance);

        notifier.Notify("READY=1\nSTATUS=up");

        Assert.That(listener.Receive(), Is.EqualTo("READY=1\nSTATUS=up"));
    }

    [Test]
    public void Without_NOTIFY_SOCKET_every_call_is_a_no_op()
    {
        Environment.SetEnvironmentVariable(SystemdNotifier.SocketVariable, null);
        var log = new RecordingLogger();
        using var notifier = SystemdNotifier.FromEnvironment(log);

        Assert.That(notifier.IsEnabled, Is.False);
        Assert.That(notifier.Ready(), Is.False);
        Assert.That(notifier.Status("x"), Is.False);
        Assert.That(notifier.Stopping(), Is.False);
        Assert.That(log.Lines, Is.Empty);
    }

    [Test]
    public void A_socket_nobody_listens_on_is_logged_once_and_never_thrown()
    {
        var directory = Directory.CreateTempSubdirectory("wd-notify-").FullName;
        try
        {
            var log = new RecordingLogger();
            using var notifier = new SystemdNotifier(Path.Combine(directory, "gone.sock"), log);

            Assert.That(notifier.IsEnabled, Is.True);
            Assert.That(notifier.Ready(), Is.False);
            Assert.That(notifier.Stopping(), Is.False);
            Assert.That(log.Lines, Has.Count.EqualTo(1));
            Assert.That(log.Lines[0], Does.Contain("could not notify systemd (READY=1)"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestCase("relative/notify.sock")]
    [TestCase("vsock:2:1234")]
    public void An_address_that_is_not_a_unix_socket_disables_the_notifier_with_a_warning(string address)
    {
        var log = new RecordingLogger();
        using var notifier = new SystemdNotifier(address, log);

        Assert.That(notifier.IsEnabled, Is.False);
        Assert.That(notifier.Ready(), Is.False);
        Assert.That(log.Lines, Has.Count.EqualTo(1));
        Assert.That(log.Lines[0], Does.Contain("not a unix socket address"));
    }

    [Test]
    public void After_dispose_calls_return_false_instead_of_throwing()
    {
        using var listener = NotifyListener.AtPath();
        var notifier = new SystemdNotifier(listener.Address, NullLogger.Instance);
        notifier.Dispose();

        Assert.That(notifier.Stopping(), Is.False);
        Assert.That(listener.HasPending, Is.False);
    }

    /// <summary>Keeps formatted log lines, to check what an operator would see.</summary>
    private sealed class RecordingLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
