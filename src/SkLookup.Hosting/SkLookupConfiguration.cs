using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace SkLookup.Hosting;

/// <summary>
/// Reads <see cref="SkLookupOptions"/> from a configuration section (appsettings.json, environment
/// variables <c>SkLookup__BpfFs</c>, command line <c>--SkLookup:BpfFs=...</c>). It reads the keys itself
/// rather than through the reflection binder: the library stays trimmable, and a wrong setting is
/// reported with its full path ("SkLookup:Labels:web:Bindings:0:Port: ...") instead of being ignored.
/// Keys it does not know at the top of the section are left to the app (a sample's <c>SkLookup:Label</c>,
/// say); inside a label or a binding they are errors, so that a typo never goes unnoticed.
/// </summary>
internal static class SkLookupConfiguration
{
    private static readonly HashSet<string> LabelKeys = new(StringComparer.OrdinalIgnoreCase) { "Bindings", "FallThrough" };
    private static readonly HashSet<string> BindingKeys = new(StringComparer.OrdinalIgnoreCase) { "Protocol", "Prefix", "Port" };

    /// <summary>Sets the options that <paramref name="section"/> has; records each wrong setting in <see cref="SkLookupOptions.ConfigurationErrors"/>.</summary>
    public static void Bind(IConfiguration section, SkLookupOptions options)
    {
        var errors = options.ConfigurationErrors;
        if (section["BpfFs"] is { Length: > 0 } bpffs)
            options.BpfFsPath = bpffs;
        if (section["LockTimeout"] is { Length: > 0 } timeout)
        {
            // Seconds first: TimeSpan.TryParse reads a bare "5" as five days.
            if (double.TryParse(timeout, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            {
                if (seconds > 0 && seconds <= int.MaxValue)
                    options.LockTimeout = TimeSpan.FromSeconds(seconds);
                else
                    errors.Add($"{Path(section, "LockTimeout")}: '{timeout}' is not a positive number of seconds");
            }
            else if (TimeSpan.TryParse(timeout, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero)
                options.LockTimeout = span;
            else
                errors.Add($"{Path(section, "LockTimeout")}: '{timeout}' is not a duration: write seconds (5) or hh:mm:ss (00:00:05)");
        }
        ReadBool(section, "UnregisterOnStop", value => options.UnregisterOnStop = value, errors);
        ReadBool(section, "StopHostOnStartFailure", value => options.StopHostOnStartFailure = value, errors);
        ReadBool(section, "DryRun", value => options.DryRun = value, errors);

        var owned = section.GetSection("OwnedLabels");
        var ownedNames = owned.Value is { } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : owned.GetChildren().Select(child => child.Value ?? "");
        foreach (var label in ownedNames)
        {
            if (Valid(label, Path(section, "OwnedLabels"), errors))
                options.OwnedLabels.Add(label);
        }

        foreach (var labelSection in section.GetSection("Labels").GetChildren())
        {
            var label = labelSection.Key;
            if (!Valid(label, labelSection.Path, errors))
                continue;
            if (!options.Labels.TryGetValue(label, out var labelOptions))
                options.Labels[label] = labelOptions = new SkLookupLabelOptions();
            foreach (var unknown in labelSection.GetChildren().Where(child => !LabelKeys.Contains(child.Key)))
                errors.Add($"{unknown.Path}: unknown setting: a label has Bindings and FallThrough");
            ReadBool(labelSection, "FallThrough", value => labelOptions.FallThrough = value, errors);
            foreach (var bindingSection in labelSection.GetSection("Bindings").GetChildren())
                ReadBinding(label, bindingSection, labelOptions, errors);
        }
    }

    private static void ReadBinding(string label, IConfigurationSection binding, SkLookupLabelOptions labelOptions, List<string> errors)
    {
        foreach (var unknown in binding.GetChildren().Where(child => !BindingKeys.Contains(child.Key)))
            errors.Add($"{unknown.Path}: unknown setting: a binding has Protocol (tcp, udp; both if left out), Prefix and Port (a number, or any)");
        if (binding["Prefix"] is not { Length: > 0 } prefix)
        {
            errors.Add($"{binding.Path}: the binding has no Prefix: give an address or a prefix, e.g. 192.0.2.0/24");
            return;
        }
        var port = binding["Port"] is { Length: > 0 } text ? text : "any";
        string[] protocols = binding["Protocol"] is { Length: > 0 } protocol ? [protocol] : ["tcp", "udp"];
        try
        {
            foreach (var name in protocols)
                labelOptions.Bindings.Add(Binding.Parse(label, name, prefix, port));
        }
        catch (SteeringException exception)
        {
            errors.Add($"{binding.Path}: {exception.Message}");
        }
    }

    private static void ReadBool(IConfiguration section, string key, Action<bool> set, List<string> errors)
    {
        if (section[key] is not { Length: > 0 } text)
            return;
        if (bool.TryParse(text, out var value))
            set(value);
        else
            errors.Add($"{Path(section, key)}: '{text}' is not true or false");
    }

    private static bool Valid(string label, string path, List<string> errors)
    {
        try
        {
            Label.Validate(label);
            return true;
        }
        catch (SteeringException exception)
        {
            errors.Add($"{path}: {exception.Message}");
            return false;
        }
    }

    private static string Path(IConfiguration section, string key) =>
        section is IConfigurationSection named ? ConfigurationPath.Combine(named.Path, key) : key;
}
