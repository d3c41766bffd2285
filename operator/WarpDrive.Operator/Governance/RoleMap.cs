using WarpDrive.ControlPlane.Auth;

namespace WarpDrive.Operator.Governance;

/// <summary>
/// Which control-plane role a Kubernetes identity gets. A subject is <c>user:NAME</c> (the username only),
/// <c>group:NAME</c> (one of the user's groups only) or a bare <c>NAME</c> (either). The node agents' service account
/// is the one agent and gets nothing else, even if a group would make it a reader or admin: a node's token must not
/// read other teams' usage or change quotas. Otherwise admin wins over reader; anyone else has no role.
/// </summary>
public sealed class RoleMap
{
    public const string AdminsGroup = "warpdrive:admins";
    public const string ReadersGroup = "warpdrive:readers";

    private readonly string _agentUser;
    private readonly Subject[] _admins;
    private readonly Subject[] _readers;

    public RoleMap(string agentUser, IEnumerable<string> admins, IEnumerable<string> readers)
    {
        ArgumentException.ThrowIfNullOrEmpty(agentUser);
        _agentUser = agentUser;
        _admins = admins.Select(Subject.Parse).ToArray();
        _readers = readers.Select(Subject.Parse).ToArray();
    }

    /// <summary>
    /// Agent: the node DaemonSet's service account in <paramref name="ns"/>. Admins: group <see cref="AdminsGroup"/>
    /// plus <paramref name="extraAdmins"/>; readers: group <see cref="ReadersGroup"/> plus <paramref name="extraReaders"/>.
    /// </summary>
    public static RoleMap Default(string ns, string nodeServiceAccount, IEnumerable<string> extraAdmins, IEnumerable<string> extraReaders) =>
        new($"system:serviceaccount:{ns}:{nodeServiceAccount}",
            ["group:" + AdminsGroup, .. extraAdmins],
            ["group:" + ReadersGroup, .. extraReaders]);

    /// <summary>Throws <see cref="ArgumentException"/> for an empty subject or one with an empty name.</summary>
    public static void Validate(string subject) => Subject.Parse(subject);

    public string? RoleOf(string username, IReadOnlyCollection<string> groups)
    {
        if (string.Equals(username, _agentUser, StringComparison.Ordinal))
        {
            return Roles.Agent;
        }

        if (_admins.Any(s => s.Matches(username, groups)))
        {
            return Roles.Admin;
        }

        return _readers.Any(s => s.Matches(username, groups)) ? Roles.Reader : null;
    }

    private readonly record struct Subject(string Name, bool User, bool Group)
    {
        public static Subject Parse(string text)
        {
            var trimmed = text.Trim();
            var subject = trimmed.StartsWith("user:", StringComparison.Ordinal) ? new Subject(trimmed[5..], true, false)
                : trimmed.StartsWith("group:", StringComparison.Ordinal) ? new Subject(trimmed[6..], false, true)
                : new Subject(trimmed, true, true);
            if (subject.Name.Length == 0)
            {
                throw new ArgumentException($"subject '{text}': expected user:NAME, group:NAME or NAME", nameof(text));
            }

            return subject;
        }

        public bool Matches(string username, IReadOnlyCollection<string> groups) =>
            (User && string.Equals(username, Name, StringComparison.Ordinal)) || (Group && groups.Contains(Name, StringComparer.Ordinal));
    }
}
