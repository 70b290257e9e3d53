using System.Text;

namespace SkLookup.Cli;

/// <summary>The process entry point; everything else lives in <see cref="CliApp"/> so tests can run it in-process.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        // Console.Out flushes every write; a buffered writer prints a long listing or diff in big blocks.
        // Commands flush it after each result, so a long-running command's first line is not held back.
        var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16) { AutoFlush = false };
        try
        {
            return CliApp.Run(args, output, Console.Error, errorIsTerminal: !Console.IsErrorRedirected, CancellationToken.None);
        }
        finally
        {
            try
            {
                output.Flush();
            }
            catch (IOException)
            {
                // stdout was closed early (e.g. piped into head): nothing more to say.
            }
        }
    }
}
