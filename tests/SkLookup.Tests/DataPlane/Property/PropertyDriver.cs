using System.Diagnostics;
using System.Globalization;
using CsCheck;

namespace SkLookup.Tests.DataPlane.Property;

/// <summary>
/// Drives a property with CsCheck. By default (CI) it is deterministic: a fixed seed, a fixed number of cases,
/// and a time cap as a safety net. <c>SKLOOKUP_PROPERTY_SECONDS=N</c> instead explores random cases for N
/// seconds (CsCheck's own sampling), starting from <c>SKLOOKUP_PROPERTY_SEED</c> if given (a seed that a failure
/// printed replays that case first). A failure is shrunk twice: by CsCheck (which regenerates smaller cases from
/// PCG streams), then by removing bindings, changes and lookups one chunk at a time while it still fails; the
/// message holds the smallest case as a bindings file plus the lookup that disagrees.
/// </summary>
/// <remarks>
/// CsCheck rather than FsCheck: generation and shrinking both come from PCG streams, so composed generators shrink
/// without hand-written shrinkers (our sets are built from draws that refer to earlier bindings, which a
/// structural shrinker would break), every case is reproducible from a short seed string, and the API is C#-first.
/// </remarks>
internal static class PropertyDriver
{
    public static void Run(Gen<PropertyCase> gen, Func<PropertyCase, string?> check, ulong fixedSeed, int cases, TimeSpan cap, Action<string> log)
    {
        PropertyCase? smallest = null;
        string? smallestFailure = null;
        void Assert(PropertyCase testCase)
        {
            var failure = check(testCase);
            if (failure is null)
                return;
            if (smallest is null || Size(testCase) < Size(smallest))
                (smallest, smallestFailure) = (testCase, failure);
            throw new PropertyFailedException(failure);
        }

        var seconds = Environment.GetEnvironmentVariable("SKLOOKUP_PROPERTY_SECONDS");
        var seed = Environment.GetEnvironmentVariable("SKLOOKUP_PROPERTY_SEED");
        try
        {
            if (seconds is not null)
            {
                gen.Sample(Assert, seed: string.IsNullOrEmpty(seed) ? null : seed, time: int.Parse(seconds, CultureInfo.InvariantCulture),
                    threads: 1, print: PropertyRig.Describe, writeLine: log);
                return;
            }
            var clock = Stopwatch.StartNew();
            var pcg = new PCG(1, fixedSeed);
            var ran = 0;
            for (var i = 0; i < cases && clock.Elapsed < cap; i++, ran++)
            {
                var caseSeed = pcg.ToString();
                var testCase = gen.Generate(pcg, null, out _);
                var failure = check(testCase);
                if (failure is null)
                    continue;
                (smallest, smallestFailure) = (testCase, failure);
                log($"case {i} failed (seed {caseSeed}): shrinking");
                // CsCheck replays the failing seed, then looks for smaller failing cases for a while.
                gen.Sample(Assert, seed: caseSeed, iter: 400, time: 60, threads: 1, print: PropertyRig.Describe, writeLine: log);
            }
            log($"{ran} of {cases} cases passed in {clock.Elapsed.TotalSeconds:F0} s{(ran < cases ? " (the time cap stopped the rest)" : "")}");
        }
        catch (Exception exception) when (smallest is not null && exception is not PropertyFailedException { Final: true })
        {
            var (minimal, failure) = Minimize(smallest, smallestFailure!, check);
            throw new PropertyFailedException($"the dispatcher disagrees with the model.\n{failure}\n\n{PropertyRig.Describe(minimal)}" +
                $"\nReplay: SKLOOKUP_PROPERTY_SECONDS=60 SKLOOKUP_PROPERTY_SEED=<the seed CsCheck printed> dotnet test ... or apply the file above.", final: true);
        }
    }

    private static int Size(PropertyCase testCase) => testCase.Bindings.Count * 4 + testCase.Changes.Count * 2 + testCase.RandomLookups.Count;

    /// <summary>Removes chunks of bindings (halves, quarters, ... single ones), then changes and lookups, while the case still fails.</summary>
    private static (PropertyCase Case, string Failure) Minimize(PropertyCase testCase, string failure, Func<PropertyCase, string?> check)
    {
        var clock = Stopwatch.StartNew();
        bool TryWith(PropertyCase candidate)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(90) || check(candidate) is not { } candidateFailure)
                return false;
            (testCase, failure) = (candidate, candidateFailure);
            return true;
        }
        for (var chunk = Math.Max(1, testCase.Bindings.Count / 2); chunk >= 1; chunk /= 2)
        {
            for (var start = 0; start < testCase.Bindings.Count;)
            {
                var bindings = testCase.Bindings.Take(start).Concat(testCase.Bindings.Skip(start + chunk)).ToList();
                var changes = testCase.Changes.Where(c => c.Add || bindings.Contains(c.Binding)).ToList();
                if (!TryWith(testCase with { Bindings = bindings, Changes = changes }))
                    start += chunk;
            }
        }
        for (var i = testCase.Changes.Count - 1; i >= 0; i--)
            TryWith(testCase with { Changes = testCase.Changes.Where((_, j) => j != i).ToList() });
        for (var i = testCase.RandomLookups.Count - 1; i >= 0; i--)
            TryWith(testCase with { RandomLookups = testCase.RandomLookups.Where((_, j) => j != i).ToList() });
        return (testCase, failure);
    }
}

/// <summary>A case the dispatcher gets wrong; <see cref="Final"/> once it has been shrunk.</summary>
internal sealed class PropertyFailedException(string message, bool final = false) : Exception(message)
{
    public bool Final { get; } = final;
}
