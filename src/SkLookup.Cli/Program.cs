namespace SkLookup.Cli;

/// <summary>The process entry point; everything else lives in <see cref="CliApp"/> so tests can run it in-process.</summary>
internal static class Program
{
    private static int Main(string[] args) => CliApp.Run(args, Console.Out, Console.Error);
}
