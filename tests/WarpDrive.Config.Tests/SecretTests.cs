using NUnit.Framework;

namespace WarpDrive.Config.Tests;

public sealed class SecretTests
{
    private const string SecretValue = "hunter2-Zx9!very-secret";

    private static string WithAuth(string authLines, string config = "{ bucket: b }") =>
        $"mount_point: /m\nbackends:\n  - name: a\n    type: s3\n    config: {config}\n    auth:\n{authLines}";

    [TestCase("client_secret")]
    [TestCase("password")]
    [TestCase("secret_key")]
    [TestCase("account_key")]
    [TestCase("sas_token")]
    [TestCase("token")]
    [TestCase("connection_string")]
    [TestCase("clientSecret")]
    [TestCase("api-key")]
    public void ASecretByValueIsRefusedWithoutEchoingIt(string key)
    {
        var yaml = WithAuth($"      method: static\n      {key}: \"{SecretValue}\"\n");

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml(yaml, _ => null))!;

        Assert.That(error.Key, Is.EqualTo($"backends[0].auth.{key}"));
        Assert.That(error.Message, Does.Contain($"{key}_env").And.Contain($"{key}_file"));
        Assert.That(error.ToString(), Does.Not.Contain(SecretValue));
    }

    [Test]
    public void ASecretExpandedFromTheEnvironmentIsStillRefusedAndNotEchoed()
    {
        var yaml = WithAuth("      method: static\n      secret_key: ${MY_SECRET}\n");

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml(yaml, name => name == "MY_SECRET" ? SecretValue : null))!;

        Assert.That(error.Key, Is.EqualTo("backends[0].auth.secret_key"));
        Assert.That(error.ToString(), Does.Not.Contain(SecretValue));
    }

    [Test]
    public void ASecretInTheBackendConfigMapIsRefusedToo()
    {
        var yaml = WithAuth("      method: none\n", config: $"{{ bucket: b, secret_access_key: \"{SecretValue}\" }}");

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml(yaml, _ => null))!;

        Assert.That(error.Key, Is.EqualTo("backends[0].config.secret_access_key"));
        Assert.That(error.ToString(), Does.Not.Contain(SecretValue));
    }

    [Test]
    public void ReferencesAndNonSecretNamesAreAccepted()
    {
        var config = ConfigLoader.LoadYaml(
            WithAuth(
                """
                      method: static_keyvault
                      client_id_env: AZURE_CLIENT_ID
                      client_secret_env: AZURE_CLIENT_SECRET
                      token_file: /var/run/secrets/tokens/azure
                      key_vault_url: https://vault.example/
                      secret_name: s3-keys
                      access_key_env: AWS_ACCESS_KEY_ID
                      secret_key_env: AWS_SECRET_ACCESS_KEY
                      access_key_id: AKIDEXAMPLE
                      role_arn: arn:aws:iam::123456789012:role/reader
                      audience: sts.amazonaws.com
                      private_key_path: /etc/wd/key.pem

                """),
            _ => null);

        Assert.That(config.Backends[0].Auth.Settings, Has.Count.EqualTo(11));
        Assert.That(config.Backends[0].Auth.Settings["key_vault_url"], Is.EqualTo("https://vault.example/"));
    }

    [Test]
    public void RedactedOutputNamesAuthKeysButShowsNoAuthValue()
    {
        var config = ConfigLoader.LoadYaml(
            WithAuth("      method: service_principal\n      tenant_id: tenant-4711\n      client_id_env: SP_CLIENT_ID_VAR\n      client_secret_file: /run/secret-path\n"),
            _ => null);

        var text = config.Redacted();

        Assert.That(text, Does.Contain("service_principal").And.Contain("client_secret_file").And.Contain("tenant_id"));
        Assert.That(text, Does.Not.Contain("tenant-4711").And.Not.Contain("SP_CLIENT_ID_VAR").And.Not.Contain("/run/secret-path"));
        Assert.That(config.ToString(), Is.EqualTo(text));
    }

    [Test]
    public void RedactedOutputShowsTheOrdinarySettings()
    {
        var config = ConfigLoader.LoadYaml(WithAuth("      method: none\n") + "cache:\n  max_size: 20GB\n", _ => null);

        var text = config.Redacted();

        Assert.That(text, Does.Contain("mount_point: /m").And.Contain("max_size: 20GiB").And.Contain("bucket: b").And.Contain("mount_path: /a"));
    }
}
