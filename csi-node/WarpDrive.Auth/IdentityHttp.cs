using Azure.Core.Pipeline;

namespace WarpDrive.Auth;

/// <summary>Adapts <see cref="FederationOptions.IdentityHttpHandler"/> to what each SDK takes as its transport.</summary>
internal static class IdentityHttp
{
    public static HttpPipelineTransport? AzureTransport(FederationOptions options) =>
        options.IdentityHttpHandler is { } create ? new HttpClientTransport(create()) : null;

    public static Amazon.Runtime.HttpClientFactory? AwsFactory(FederationOptions options) =>
        options.IdentityHttpHandler is { } create ? new AwsHttpClientFactory(create) : null;

    public static Google.Apis.Http.IHttpClientFactory GoogleFactory(FederationOptions options) => new GoogleHttpClientFactory(options.IdentityHttpHandler);

    private sealed class AwsHttpClientFactory(Func<HttpMessageHandler> create) : Amazon.Runtime.HttpClientFactory
    {
        public override HttpClient CreateHttpClient(Amazon.Runtime.IClientConfig clientConfig) => new(create(), disposeHandler: true);

        public override bool UseSDKHttpClientCaching(Amazon.Runtime.IClientConfig clientConfig) => false;
    }

    /// <summary>
    /// Google's factory with our handler (when given) and its own retries off: <see cref="TokenRefresher{T}"/> is the
    /// one retry loop, so a 500 costs exactly the attempts the policy allows.
    /// </summary>
    private sealed class GoogleHttpClientFactory(Func<HttpMessageHandler>? create) : Google.Apis.Http.IHttpClientFactory
    {
        private readonly HandlerFactory _inner = new(create);

        public Google.Apis.Http.ConfigurableHttpClient CreateHttpClient(Google.Apis.Http.CreateHttpClientArgs args)
        {
            var client = _inner.CreateHttpClient(args);
            client.MessageHandler.NumTries = 1;
            return client;
        }

        private sealed class HandlerFactory(Func<HttpMessageHandler>? create) : Google.Apis.Http.HttpClientFactory
        {
            protected override HttpMessageHandler CreateHandler(Google.Apis.Http.CreateHttpClientArgs args) =>
                create?.Invoke() ?? base.CreateHandler(args);
        }
    }
}
