namespace SkLookup.Bpf.Features;

/// <summary>The running kernel's release, as <c>uname -r</c> prints it, and its version number.</summary>
/// <remarks>
/// Feature probes never rely on the version (distributions backport features); it is the fallback
/// where a probe cannot run, and what a report names.
/// </remarks>
public static class KernelVersion
{
    private static readonly Lazy<string> s_release = new(() =>
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
        catch (UnauthorizedAccessException)
        {
            return "unknown";
        }
    });

    /// <summary>The release string, e.g. "5.10.0-35-cloud-amd64".</summary>
    public static string Release => s_release.Value;

    /// <summary>The leading major.minor.patch of <see cref="Release"/>; 0.0.0 if it cannot be read.</summary>
    public static Version Current => Parse(Release);

    /// <summary>Reads the leading "major.minor[.patch]" of a release string.</summary>
    public static Version Parse(string release)
    {
        Span<int> parts = [0, 0, 0];
        var part = 0;
        var digits = 0;
        foreach (var c in release)
        {
            if (char.IsAsciiDigit(c))
            {
                parts[part] = parts[part] * 10 + (c - '0');
                digits++;
            }
            else if (c == '.' && digits > 0 && part < 2)
            {
                part++;
                digits = 0;
            }
            else
            {
                break;
            }
        }
        return new Version(parts[0], parts[1], parts[2]);
    }
}
