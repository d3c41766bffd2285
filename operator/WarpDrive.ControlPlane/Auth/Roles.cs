namespace WarpDrive.ControlPlane.Auth;

/// <summary>The three roles of the contract: reader (GET), admin (GET and changes), agent (ingest only).</summary>
public static class Roles
{
    public const string Reader = "reader";
    public const string Admin = "admin";
    public const string Agent = "agent";

    public static IReadOnlyList<string> All { get; } = [Reader, Admin, Agent];
}

/// <summary>Who a bearer token belongs to.</summary>
public sealed record TokenPrincipal(string Name, string Role);

/// <summary>Endpoint metadata: the roles allowed to call it. Endpoints without it need no token (healthz).</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class RequireRolesAttribute(params string[] roles) : Attribute
{
    public IReadOnlyList<string> Roles { get; } = roles;
}

/// <summary>
/// Turns a bearer token into a principal, or null when the token is unknown. Pluggable: the tokens file here, a
/// Kubernetes TokenReview in the operator.
/// </summary>
public interface ITokenValidator
{
    ValueTask<TokenPrincipal?> ValidateAsync(string token, CancellationToken cancellationToken);
}
