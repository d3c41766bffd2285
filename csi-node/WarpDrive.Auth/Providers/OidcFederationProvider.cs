using Amazon;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;

namespace WarpDrive.Auth.Providers;

/// <summary>
/// <c>oidc_federation</c>: a JWT (token file, EKS IRSA's AWS_WEB_IDENTITY_TOKEN_FILE, or an Entra token from the
/// Azure managed identity) traded at AWS STS AssumeRoleWithWebIdentity for temporary S3 credentials.
/// </summary>
/// <remarks>
/// AWSSDK.SecurityToken makes the STS call; we do not use the SDK's AssumeRoleWithWebIdentityCredentials because
/// it only reads the token from a file and caches on its own terms (see <see cref="TokenRefresher{T}"/>).
/// Settings: role_arn (or AWS_ROLE_ARN), token_file, subject_source, azure_resource, role_session_name,
/// region (STS region, default AWS_REGION or us-east-1), sts_endpoint, timeout, retry_base_delay.
/// </remarks>
internal sealed class OidcFederationProvider : ICredentialProvider
{
    private readonly TokenRefresher<ImmutableCredentials> _refresher;
    private readonly AmazonSecurityTokenServiceClient _sts;

    public OidcFederationProvider(ProviderContext context)
    {
        var s = context.Settings;
        var roleArn = s.OptionalOrEnvironment("role_arn", "AWS_ROLE_ARN")
            ?? throw new Config.ConfigException(s.Key("role_arn"), "is required for oidc_federation (or set AWS_ROLE_ARN)");
        var sessionName = s.Optional("role_session_name") ?? Environment.GetEnvironmentVariable("AWS_ROLE_SESSION_NAME") ?? "warpdrive-" + context.Backend;
        var subjectToken = SubjectTokens.Create(context, "AWS_WEB_IDENTITY_TOKEN_FILE");
        var region = s.OptionalOrEnvironment("region", "AWS_REGION") ?? "us-east-1";
        var config = new AmazonSecurityTokenServiceConfig { MaxErrorRetry = 0, Timeout = context.Policy.AttemptTimeout };
        if (s.Optional("sts_endpoint") is not null)
        {
            config.ServiceURL = s.Url("sts_endpoint", "").ToString();
            config.AuthenticationRegion = region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }
        if (IdentityHttp.AwsFactory(context.Options) is { } factory)
        {
            config.HttpClientFactory = factory;
        }
        // AssumeRoleWithWebIdentity is an unsigned call: the web identity token is the credential.
        _sts = new AmazonSecurityTokenServiceClient(new AnonymousAWSCredentials(), config);
        Method = context.Method;
        _refresher = new TokenRefresher<ImmutableCredentials>(context.Backend, Method, async ct =>
        {
            var request = new AssumeRoleWithWebIdentityRequest
            {
                RoleArn = roleArn,
                RoleSessionName = sessionName,
                WebIdentityToken = await subjectToken(ct).ConfigureAwait(false),
            };
            var response = await _sts.AssumeRoleWithWebIdentityAsync(request, ct).ConfigureAwait(false);
            var c = response.Credentials;
            var expires = c.Expiration is { } e ? new DateTimeOffset(DateTime.SpecifyKind(e, e.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : e.Kind)) : DateTimeOffset.UtcNow.AddHours(1);
            return new Expiring<ImmutableCredentials>(new ImmutableCredentials(c.AccessKeyId, c.SecretAccessKey, c.SessionToken), expires);
        }, context.Policy, context.Audit, context.Logger);
        Binding = new CredentialBinding(Aws: new FederatedAwsCredentials(_refresher));
    }

    public string Method { get; }

    public CredentialBinding Binding { get; }

    public async ValueTask EnsureCurrentAsync(CancellationToken cancellationToken) => await _refresher.GetAsync(cancellationToken).ConfigureAwait(false);

    public void Dispose()
    {
        _refresher.Dispose();
        _sts.Dispose();
    }
}
