namespace SkLookup.Bpf;

/// <summary>
/// The program section names this loader knows, and the program type and expected attach type each
/// stands for. The names follow libbpf's conventions, so objects written for libbpf load unchanged.
/// </summary>
internal static class ProgramSections
{
    /// <summary>What the error for an unknown section lists.</summary>
    public const string Supported = "sk_lookup, sk_lookup/NAME, sk_reuseport, sk_reuseport/migrate, socket, tc, classifier, xdp";

    /// <summary>Finds the program type for code in <paramref name="section"/>.</summary>
    public static bool TryResolve(string section, out ProgramType type, out AttachType attachType)
    {
        (type, attachType) = section switch
        {
            "sk_lookup" => (ProgramType.SkLookup, AttachType.SkLookup),
            _ when section.StartsWith("sk_lookup/", StringComparison.Ordinal) => (ProgramType.SkLookup, AttachType.SkLookup),
            "sk_reuseport/migrate" => (ProgramType.SkReuseport, AttachType.SkReuseportSelectOrMigrate),
            "sk_reuseport" => (ProgramType.SkReuseport, AttachType.SkReuseportSelect),
            _ when IsFamily(section, "socket") => (ProgramType.SocketFilter, AttachType.None),
            _ when IsFamily(section, "tc") || IsFamily(section, "classifier") => (ProgramType.SchedClassifier, AttachType.None),
            _ when IsFamily(section, "xdp") => (ProgramType.Xdp, AttachType.None),
            _ => (ProgramType.Unspecified, AttachType.None),
        };
        return type != ProgramType.Unspecified;
    }

    private static bool IsFamily(string section, string prefix) =>
        section == prefix || (section.StartsWith(prefix, StringComparison.Ordinal) && section.Length > prefix.Length && section[prefix.Length] == '/');
}
