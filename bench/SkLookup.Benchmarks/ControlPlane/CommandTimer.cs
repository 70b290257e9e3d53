using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using SkLookup.Benchmarks.Native;

namespace SkLookup.Benchmarks.ControlPlane;

/// <summary>
/// Times a command from its start to its exit as a shell would run it: <c>posix_spawnp</c>, then <c>waitpid</c>, with
/// its output in a file. <see cref="System.Diagnostics.Process"/> is not used for the timed runs because its own work
/// in this (large, multi-threaded) process, the pipes, their reader tasks and the SIGCHLD handling, added about 6 ms
/// to every run (19.5 ms for a bind that bash's loop timed at 13.5 ms), which is the benchmark's cost, not the tool's.
/// </summary>
internal static unsafe class CommandTimer
{
    /// <summary>Runs <paramref name="fileName"/> (a path, or a name found in PATH) with <paramref name="arguments"/>; a non-zero exit is an error that quotes its output.</summary>
    public static TimeSpan Run(string fileName, IReadOnlyList<string> arguments)
    {
        var outputPath = Path.Combine(Path.GetTempPath(), $"sklookup-bench-command-{Environment.ProcessId}.txt");
        var strings = new List<nint>();
        nint Native(string text)
        {
            var pointer = Marshal.StringToCoTaskMemUTF8(text);
            strings.Add(pointer);
            return pointer;
        }
        var fileActions = NativeMemory.AllocZeroed(LinuxNative.SpawnFileActionsSize);
        try
        {
            var path = (byte*)Native(fileName);
            var argv = stackalloc byte*[arguments.Count + 2];
            argv[0] = path;
            for (var i = 0; i < arguments.Count; i++)
                argv[i + 1] = (byte*)Native(arguments[i]);
            argv[arguments.Count + 1] = null;
            var environment = Environment.GetEnvironmentVariables();
            var envp = stackalloc byte*[environment.Count + 1];
            var index = 0;
            foreach (System.Collections.DictionaryEntry entry in environment)
                envp[index++] = (byte*)Native($"{entry.Key}={entry.Value}");
            envp[index] = null;
            Check(LinuxNative.PosixSpawnFileActionsInit(fileActions), "posix_spawn_file_actions_init");
            Check(LinuxNative.PosixSpawnFileActionsAddOpen(fileActions, 1, (byte*)Native(outputPath), LinuxNative.O_WRONLY | LinuxNative.O_CREAT | LinuxNative.O_TRUNC, 0x180), "posix_spawn_file_actions_addopen");
            Check(LinuxNative.PosixSpawnFileActionsAddDup2(fileActions, 1, 2), "posix_spawn_file_actions_adddup2");
            int pid, status;
            var clock = Stopwatch.StartNew();
            Check(LinuxNative.PosixSpawnSearchingPath(&pid, path, fileActions, null, argv, envp), $"posix_spawnp {fileName}");
            while (LinuxNative.WaitPid(pid, &status, 0) < 0)
                if (Marshal.GetLastPInvokeError() != LinuxNative.EINTR)
                    throw new InvalidOperationException($"waitpid {pid}: errno {Marshal.GetLastPInvokeError()}");
            var elapsed = clock.Elapsed;
            // WIFEXITED and WEXITSTATUS, or the signal that ended it.
            var exited = (status & 0x7f) == 0;
            if (!exited || (status >> 8 & 0xff) != 0)
                throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} failed ({(exited ? $"exit {status >> 8 & 0xff}" : $"signal {status & 0x7f}")}): {File.ReadAllText(outputPath, Encoding.UTF8).Trim()}");
            return elapsed;
        }
        finally
        {
            LinuxNative.PosixSpawnFileActionsDestroy(fileActions);
            NativeMemory.Free(fileActions);
            foreach (var pointer in strings)
                Marshal.FreeCoTaskMem(pointer);
            File.Delete(outputPath);
        }
    }

    private static void Check(int error, string what)
    {
        if (error != 0)
            throw new InvalidOperationException($"{what}: errno {error}");
    }
}
