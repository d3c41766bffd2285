using Csi.V1;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace WarpDrive.Csi;

/// <summary>
/// Logs every CSI call and its outcome with secrets removed: fields the spec marks <c>csi_secret</c> are cleared,
/// and volume_context / parameters keys whose names look secret have their values replaced, before anything is formatted.
/// </summary>
public sealed class CallLoggingInterceptor(ILogger<CallLoggingInterceptor> logger) : Interceptor
{
    private const string Redacted = "***stripped***";
    private static readonly string[] SecretWords = ["secret", "token", "password", "passwd", "credential", "key", "sas", "signature", "auth"];
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        logger.LogInformation("{Method} request: {Request}", context.Method, Describe(request));
        try
        {
            var response = await continuation(request, context).ConfigureAwait(false);
            logger.LogInformation("{Method} ok", context.Method);
            return response;
        }
        catch (RpcException e)
        {
            logger.LogWarning("{Method} failed: {Code} {Detail}", context.Method, e.StatusCode, e.Status.Detail);
            throw;
        }
        catch (Exception e) when (e is Config.ConfigException or ArgumentException)
        {
            // The node config's backend or auth settings are wrong: nothing the caller can fix by retrying as is.
            logger.LogError("{Method} failed: {Error}", context.Method, e.Message);
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError("{Method} failed: {Error}", context.Method, e.Message);
            throw new RpcException(new Status(StatusCode.Internal, e.Message));
        }
    }

    /// <summary>The request as JSON with every secret removed. Never formats the original message.</summary>
    public static string Describe(object request)
    {
        if (request is not IMessage message)
        {
            return request.GetType().Name;
        }

        var copy = message.Descriptor.Parser.ParseFrom(message.ToByteString());
        Strip(copy);
        return Json.Format(copy);
    }

    public static bool LooksSecret(string key)
    {
        var lower = key.ToLowerInvariant();
        return SecretWords.Any(word => lower.Contains(word, StringComparison.Ordinal));
    }

    private static void Strip(IMessage message)
    {
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            var accessor = field.Accessor;
            if (field.GetOptions()?.GetExtension(CsiExtensions.CsiSecret) == true)
            {
                accessor.Clear(message);
            }
            else if (field.IsMap && field.Name is "volume_context" or "parameters" && accessor.GetValue(message) is System.Collections.IDictionary map)
            {
                foreach (var key in map.Keys.Cast<string>().Where(LooksSecret).ToList())
                {
                    map[key] = Redacted;
                }
            }
            else if (field.FieldType == FieldType.Message && !field.IsRepeated && !field.IsMap && accessor.GetValue(message) is IMessage child)
            {
                Strip(child);
            }
        }
    }
}
