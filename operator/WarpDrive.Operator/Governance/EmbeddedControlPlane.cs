using k8s;
using Microsoft.Extensions.Logging;
using WarpDrive.ControlPlane;
using WarpDrive.ControlPlane.Store;
using WarpDrive.Operator.Install;

namespace WarpDrive.Operator.Governance;

/// <summary>The <c>--control-plane-*</c> flags of <c>warpdrive-operator run</c>.</summary>
public sealed record ControlPlaneSettings
{
    public const string DefaultDatabase = "sqlite:///var/lib/warpdrive-control-plane/control-plane.db";

    /// <summary>Port of the Service <c>warpdrive-control-plane</c>, which the node configs point at.</summary>
    public const int ServicePort = 8090;

    public const string ServiceName = "warpdrive-control-plane";

    public string ListenAddress { get; init; } = ":8090";

    /// <summary>SQLite (one replica only: each replica would keep its own file) or PostgreSQL (any number of replicas).</summary>
    public string Database { get; init; } = DefaultDatabase;

    public string? PasswordEnvironmentVariable { get; init; }

    /// <summary>Extra admin subjects besides group <see cref="RoleMap.AdminsGroup"/>.</summary>
    public IReadOnlyList<string> Admins { get; init; } = [];

    /// <summary>Extra reader subjects besides group <see cref="RoleMap.ReadersGroup"/>.</summary>
    public IReadOnlyList<string> Readers { get; init; } = [];

    public string Audience { get; init; } = TokenReviewSettings.DefaultAudience;

    /// <summary>Longest wait for a TokenReview (no flag: tests shorten it).</summary>
    public TimeSpan ReviewTimeout { get; init; } = new TokenReviewSettings().Timeout;

    /// <summary>What is wrong with these settings, for a one-line exit-2 message; null when they are usable.</summary>
    public string? Problem()
    {
        try
        {
            ControlPlaneHost.ParseListenAddress(ListenAddress);
            DatabaseTarget.Parse(Database);
            foreach (var subject in Admins.Concat(Readers))
            {
                RoleMap.Validate(subject);
            }
        }
        catch (ArgumentException error)
        {
            // The message without the " (Parameter 'x')" suffix, which names our code rather than the flag.
            return error.ParamName is null ? error.Message : error.Message.Replace($" (Parameter '{error.ParamName}')", "", StringComparison.Ordinal);
        }

        return string.IsNullOrWhiteSpace(Audience) ? "audience must not be empty" : null;
    }
}

/// <summary>
/// The governance control plane as the operator runs it: <see cref="ControlPlaneHost"/> with a
/// <see cref="TokenReviewValidator"/> (agent = the node DaemonSet's service account). Every replica serves it, not
/// only the leader, because the Service sends requests to any ready pod; with SQLite that is only correct with one
/// replica (the chart refuses more). Owns the host and the validator; dispose to stop both.
/// </summary>
public sealed class EmbeddedControlPlane : IAsyncDisposable
{
    private readonly ControlPlaneHost _host;
    private readonly TokenReviewValidator _validator;

    private EmbeddedControlPlane(ControlPlaneHost host, TokenReviewValidator validator)
    {
        _host = host;
        _validator = validator;
    }

    public Uri BaseAddress => _host.BaseAddress;

    /// <summary>Migrates the store and starts listening; returns once requests are served.</summary>
    public static async Task<EmbeddedControlPlane> StartAsync(ControlPlaneSettings settings, string ns, IKubernetes client, ILoggerFactory logging, CancellationToken cancellationToken)
    {
        var roles = RoleMap.Default(ns, Rbac.NodeName, settings.Admins, settings.Readers);
        var validator = new TokenReviewValidator(client, roles, new TokenReviewSettings { Audience = settings.Audience, Timeout = settings.ReviewTimeout }, logging.CreateLogger("token-review"));
        try
        {
            var host = await ControlPlaneHost.StartAsync(new ControlPlaneOptions
            {
                ListenAddress = settings.ListenAddress,
                Database = settings.Database,
                DatabasePasswordEnvironmentVariable = settings.PasswordEnvironmentVariable,
                TokenValidator = validator,
                LoggerFactory = logging,
            }, cancellationToken).ConfigureAwait(false);
            return new EmbeddedControlPlane(host, validator);
        }
        catch
        {
            validator.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync().ConfigureAwait(false);
        _validator.Dispose();
    }
}
