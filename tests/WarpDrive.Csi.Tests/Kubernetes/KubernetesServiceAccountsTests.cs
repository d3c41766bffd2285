using k8s;
using NUnit.Framework;
using WarpDrive.Node.Kubernetes;

namespace WarpDrive.Csi.Tests.Kubernetes;

/// <summary>The agent reads a pod's service account with one GET, keeps the answer a while, and says clearly when it cannot.</summary>
[TestFixture]
public sealed class KubernetesServiceAccountsTests
{
    [Test]
    public async Task Annotations_come_from_one_get_per_account_while_fresh_and_a_missing_account_is_not_found()
    {
        await using var api = await KubernetesApiTestDouble.StartAsync("node-1", []);
        api.PutServiceAccount("ml", "reader", new() { ["eks.amazonaws.com/role-arn"] = "arn:aws:iam::1:role/reader" });
        var accounts = new KubernetesServiceAccounts(new k8s.Kubernetes(new KubernetesClientConfiguration { Host = api.Url.ToString() }));

        var first = await accounts.AnnotationsAsync("ml", "reader", CancellationToken.None);
        var again = await accounts.AnnotationsAsync("ml", "reader", CancellationToken.None);
        var missing = Assert.ThrowsAsync<ServiceAccountLookupException>(async () => await accounts.AnnotationsAsync("ml", "nobody", CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(first["eks.amazonaws.com/role-arn"], Is.EqualTo("arn:aws:iam::1:role/reader"));
            Assert.That(again, Is.EqualTo(first));
            Assert.That(api.ServiceAccountGets, Is.EqualTo(2), "one GET for the account while its answer is fresh, one for the missing one");
            Assert.That(missing!.NotFound, Is.True);
            Assert.That(missing.Message, Is.EqualTo("service account ml/nobody does not exist"));
        });
    }
}
