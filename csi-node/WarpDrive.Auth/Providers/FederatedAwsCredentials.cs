using Amazon.Runtime;

namespace WarpDrive.Auth.Providers;

/// <summary>AWS credentials served from a <see cref="TokenRefresher{T}"/>, so the S3 client signs with whatever is current.</summary>
internal sealed class FederatedAwsCredentials(TokenRefresher<ImmutableCredentials> refresher) : AWSCredentials
{
    // The S3 client uses the async path; the sync one exists for SDK code paths that have no async variant.
    public override ImmutableCredentials GetCredentials() => refresher.GetAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public override Task<ImmutableCredentials> GetCredentialsAsync() => refresher.GetAsync(CancellationToken.None).AsTask();
}
