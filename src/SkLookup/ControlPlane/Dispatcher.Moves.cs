using SkLookup.ControlPlane;
using SkLookup.Destinations;
using SkLookup.DataPlane;
using SkLookup.State;

namespace SkLookup;

/// <summary>Moving a binding from one label to another without a moment in which it is unbound.</summary>
public sealed partial class Dispatcher
{
    /// <summary>
    /// Sends <paramref name="binding"/>'s traffic to its label, whichever label has that protocol, prefix and
    /// port now. A binding of another label is moved, not removed and added again: its map entry is
    /// overwritten in place, then the program learns of the new destination (in its probe table, or by one
    /// program swap), so every lookup finds the old label or the new one and never no binding. Without a
    /// binding to move, it is added as <see cref="AddBinding"/> adds it.
    /// </summary>
    /// <returns>The binding that was replaced (the old label's), or null if there was none or it had this label already.</returns>
    /// <exception cref="SteeringException"><see cref="SteeringError.CapacityExceeded"/> if the binding is new and the bindings are full.</exception>
    public Binding? MoveBinding(Binding binding) => Translate(() =>
    {
        ArgumentNullException.ThrowIfNull(binding);
        Label.Validate(binding.Label);
        CheckWritable();
        var destinations = DestinationsTable();
        var match = binding.Match;
        if (BindingOf(match) is not { } oldId)
        {
            AddBinding(binding);
            return null;
        }
        if (destinations.TryGetId(new Destination(binding.Label, binding.Family, binding.Protocol), out var own) && own == oldId)
            return null;
        var previous = ToBinding(match, oldId, destinations);
        if (previous.Label == binding.Label)
            return null;
        var summary = Summary();
        var map = _state.Maps.Bindings(binding.Family);
        var key = BindingKey.Encode(match);
        _state.WriteInPlace(WriteKind.Move, () =>
        {
            var newId = destinations.GetOrCreate(new Destination(binding.Label, binding.Family, binding.Protocol));
            try
            {
                // Overwriting a hash map entry replaces its value atomically; the program does not read this
                // map, so until the program learns of the move, traffic still goes to the old label.
                map.Update(key, BitConverter.GetBytes(newId));
                summary.RecordMove(oldId, newId);
                if (_bindings is { } bindings)
                {
                    bindings.Remove(match);
                    bindings.Add(match, newId);
                }
                // Only "added": a probe table slot that holds the key gets the new destination written over the
                // old one, where removing it first would leave a moment with no slot for it. A hashed class keeps
                // its code (destination ids live in its table); a class of decision trees has them in its code.
                if (!summary.KeepsProgramOnMove(match) || !_state.TryUpdateTables(binding.Family, 0, [], [(match, newId)]))
                {
                    var shape = BindingsState(summary).Shape();
                    if (!_state.TryUpdateInPlace(shape, [], [(match, newId)]))
                        _state.Swap(shape);
                }
            }
            catch
            {
                // As in AddBinding: the mark stays, so the next write rebuilds the summary and the program from the binding maps.
                ForgetCaches();
                map.Update(key, BitConverter.GetBytes(oldId));
                CollectIfUnused(newId);
                throw;
            }
            CollectIfUnused(oldId);
        });
        return previous;
    });
}
