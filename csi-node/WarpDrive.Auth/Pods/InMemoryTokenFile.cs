using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace WarpDrive.Auth.Pods;

/// <summary>
/// A pod's token in an anonymous memory file (memfd_create), named to the SDKs as <c>/proc/self/fd/N</c>. Every
/// federation SDK we use reads its subject token from a file path (AWS web identity, Azure workload identity,
/// Google's file-sourced external account), and a pod's token must never touch disk: a memory file gives them a path
/// without one. Immutable: a rotated token gets a new file. Close-on-exec, so child processes (rclone) never inherit it.
/// </summary>
/// <remarks>Hand-written (10 lines of libc) because no library wraps memfd_create, and the FUSE project's copy is below our layer.</remarks>
internal sealed partial class InMemoryTokenFile : IDisposable
{
    private const uint MfdCloexec = 0x0001;
    private readonly SafeFileHandle _handle;

    public InMemoryTokenFile(string token)
    {
        var fd = MemfdCreate("warpdrive-pod-token", MfdCloexec);
        if (fd < 0)
        {
            throw new IOException($"memfd_create failed (errno {Marshal.GetLastPInvokeError()})");
        }

        _handle = new SafeFileHandle(fd, ownsHandle: true);
        RandomAccess.Write(_handle, System.Text.Encoding.UTF8.GetBytes(token), 0);
        Path = $"/proc/self/fd/{fd}";
    }

    /// <summary>Where the SDKs read the token; valid in this process only, while this object lives.</summary>
    public string Path { get; }

    public void Dispose() => _handle.Dispose();

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MemfdCreate(string name, uint flags);
}
