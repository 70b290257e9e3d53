using SkLookup.Bpf;
using SkLookup.Bpf.Asm;

namespace SkLookup.Benchmarks.TestRuns;

/// <summary>
/// One lookup to measure and what the program must answer, checked once before measuring so that a
/// broken candidate cannot post a fast time.
/// </summary>
/// <param name="Name">"hit" or "miss".</param>
/// <param name="Input">The synthetic lookup.</param>
/// <param name="ExpectedVerdict">The verdict the program must return.</param>
/// <param name="ExpectedCookie">The cookie of the socket it must select, or 0 for none.</param>
internal sealed record LookupCase(string Name, SkLookupTestInput Input, SkAction ExpectedVerdict, ulong ExpectedCookie);
