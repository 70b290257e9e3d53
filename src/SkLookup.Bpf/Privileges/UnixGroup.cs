using System.Runtime.InteropServices;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>
/// Group names and ids, through the C library's <c>getgrnam_r</c> and <c>getgrgid_r</c>, so that groups from any
/// NSS source (files, LDAP, systemd-userdb) resolve as they do for <c>ls</c> and <c>chgrp</c>; .NET has no API for it.
/// </summary>
public static class UnixGroup
{
    /// <summary>The id of the group named <paramref name="name"/>, or null if there is none. A decimal number is taken as the id itself.</summary>
    public static uint? FindId(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (uint.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
            return id;
        return Lookup(name, 0, byName: true)?.Id;
    }

    /// <summary>The name of group <paramref name="gid"/>, or its number if it has none.</summary>
    public static string Name(uint gid) => Lookup(null, gid, byName: false)?.Name ?? gid.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static unsafe (string Name, uint Id)? Lookup(string? name, uint gid, bool byName)
    {
        var size = 1024;
        while (true)
        {
            var buffer = new byte[size];
            LibC.Group group;
            LibC.Group* result;
            int error;
            fixed (byte* bytes = buffer)
                error = byName
                    ? LibC.GetGrNamR(name!, &group, bytes, (nuint)size, &result)
                    : LibC.GetGrGidR(gid, &group, bytes, (nuint)size, &result);
            if (error == Errno.ERANGE && size < 1 << 20)
            {
                size *= 4;
                continue;
            }
            if (error != 0 || result == null)
                return null;
            return (Marshal.PtrToStringUTF8((nint)group.Name) ?? "", group.Gid);
        }
    }
}
