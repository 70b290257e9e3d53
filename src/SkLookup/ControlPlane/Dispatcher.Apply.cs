using SkLookup.DataPlane;

namespace SkLookup;

/// <summary>Applying a whole bindings document, with its label options, as one change.</summary>
public sealed partial class Dispatcher
{
    /// <summary>
    /// Makes the bindings those of <paramref name="document"/> and sets its label options, as one change: the new
    /// option maps are staged with the new binding maps and swapped in with them (as <see cref="ReplaceBindings"/>
    /// swaps a binding set), so a lookup, a reader and a crash see the old bindings with the old options or the new
    /// with the new, and a failed apply changes nothing.
    /// </summary>
    /// <remarks>
    /// With <paramref name="ownedLabels"/>, the apply is confined to those labels, so that several apps (or
    /// configuration sources) can share a dispatcher without undoing each other: the owned labels' bindings
    /// become exactly the document's, their options become the document's (a label the document does not
    /// list goes back to the defaults), and every other label keeps its bindings and options. A binding
    /// of the document that matches the same traffic as another label's binding fails with
    /// <see cref="SteeringError.AlreadyExists"/>. Without <paramref name="ownedLabels"/>, the document is the
    /// whole set (as <c>sklookup apply</c> does it), and labels the document does not list keep their options.
    /// </remarks>
    /// <param name="document">The bindings and label options, e.g. from <see cref="BindingsFile.ParseDocument(string)"/>.</param>
    /// <param name="dryRun">Change nothing; the diff says what would change.</param>
    /// <param name="ownedLabels">The labels this apply may change, or null for all of them.</param>
    /// <returns>The bindings added and removed (in a dry run, those that would be).</returns>
    /// <exception cref="SteeringException">
    /// <see cref="SteeringError.InvalidLabel"/> if the document binds or sets options of a label outside
    /// <paramref name="ownedLabels"/>; <see cref="SteeringError.AlreadyExists"/> as <see cref="ReplaceBindings"/> says.
    /// </exception>
    public BindingsDiff Apply(BindingsDocument document, bool dryRun = false, IReadOnlyCollection<string>? ownedLabels = null)
    {
        ArgumentNullException.ThrowIfNull(document);
        var owned = ownedLabels is null ? null : new HashSet<string>(ownedLabels, StringComparer.Ordinal);
        if (owned is not null)
        {
            foreach (var label in owned)
                Label.Validate(label);
            CheckOwned(owned, document.Bindings.Select(binding => binding.Label), "binds");
            CheckOwned(owned, document.Labels.Keys, "sets options of");
        }

        IReadOnlyCollection<Binding> desired = document.Bindings;
        if (owned is not null)
        {
            // The other labels' bindings stay as they are: part of the new set, so the swap keeps them.
            var kept = new List<Binding>(document.Bindings);
            foreach (var binding in Bindings())
                if (!owned.Contains(binding.Label))
                    kept.Add(binding);
            desired = kept;
        }
        if (dryRun)
            return ReplaceBindings(desired, dryRun: true);

        // Owned labels the document does not list go back to the default; otherwise only the listed ones change.
        var options = new Dictionary<string, bool>(StringComparer.Ordinal);
        if (owned is not null)
            foreach (var label in owned)
                options[label] = false;
        foreach (var (label, labelOptions) in document.Labels)
            options[label] = labelOptions.FallThrough;
        var changes = new Dictionary<string, DestinationFlags>(StringComparer.Ordinal);
        foreach (var (label, fallThrough) in FallThroughOf(options.Keys))
            if (options[label] != fallThrough)
                changes[label] = options[label] ? DestinationFlags.FallThrough : DestinationFlags.None;
        return ReplaceBindingsAndOptions(desired, dryRun: false, changes);
    }

    private static void CheckOwned(HashSet<string> owned, IEnumerable<string> labels, string what)
    {
        foreach (var label in labels)
            if (!owned.Contains(label))
                throw new SteeringException(SteeringError.InvalidLabel,
                    $"the document {what} label '{label}', which this apply does not own (it owns {string.Join(", ", owned.Order(StringComparer.Ordinal).Select(l => $"'{l}'"))}): add the label to the owned ones, or leave it out");
    }

    /// <summary>The fall-through flag each of <paramref name="labels"/> has now (false for a label without destinations).</summary>
    private Dictionary<string, bool> FallThroughOf(IEnumerable<string> labels)
    {
        var flags = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var label in labels)
            flags[label] = false;
        if (flags.Count == 0)
            return flags; // Each destination's status takes a few syscalls: at a million bindings, skip them when no label is asked for.
        foreach (var destination in Destinations())
            if (flags.ContainsKey(destination.Label))
                flags[destination.Label] = destination.FallThrough;
        return flags;
    }
}
