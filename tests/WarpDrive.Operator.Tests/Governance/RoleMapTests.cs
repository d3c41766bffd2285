using WarpDrive.Operator.Governance;

namespace WarpDrive.Operator.Tests.Governance;

public sealed class RoleMapTests
{
    private static readonly RoleMap Roles = RoleMap.Default("wd", "warpdrive-node", ["user:root@example.com", "group:platform", "ops"], ["user:auditor"]);

    [TestCase("system:serviceaccount:wd:warpdrive-node", new[] { "warpdrive:admins", "warpdrive:readers" }, "agent")]
    [TestCase("system:serviceaccount:other:warpdrive-node", new[] { "system:serviceaccounts" }, null)]
    [TestCase("anne", new[] { "warpdrive:admins", "warpdrive:readers" }, "admin")]
    [TestCase("anne", new[] { "warpdrive:readers" }, "reader")]
    [TestCase("root@example.com", new string[0], "admin")]
    [TestCase("someone", new[] { "root@example.com" }, null)] // user:NAME never matches a group
    [TestCase("platform", new string[0], null)] // group:NAME never matches a user name
    [TestCase("someone", new[] { "platform" }, "admin")]
    [TestCase("ops", new string[0], "admin")] // a bare subject matches a user name...
    [TestCase("someone", new[] { "ops" }, "admin")] // ...or a group
    [TestCase("auditor", new string[0], "reader")]
    [TestCase("someone", new[] { "system:authenticated" }, null)]
    public void Role_of(string user, string[] groups, string? expected) =>
        Assert.That(Roles.RoleOf(user, groups), Is.EqualTo(expected));

    [TestCase("")]
    [TestCase("group:")]
    [TestCase("user: ")]
    public void Empty_subjects_are_refused(string subject) =>
        Assert.That(() => RoleMap.Validate(subject), Throws.ArgumentException);
}
