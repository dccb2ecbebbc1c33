using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Testing;

public static class Ports
{
    // Below Linux's ephemeral range (32768–60999): a port the OS picks for us there can be taken in the meantime
    // as the local end of any outgoing connection (seen: a test's Kestrel failing with "address already in use").
    private const int First = 20_000, Last = 32_000;
    private static readonly ConcurrentDictionary<int, bool> Given = new();

    /// <summary>A loopback port nobody listens on, never handed out twice in this test run, outside the ephemeral range.</summary>
    public static int Free()
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var port = Random.Shared.Next(First, Last);
            if (!Given.TryAdd(port, true)) continue;
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
            }
        }
        throw new InvalidOperationException($"no free loopback port between {First} and {Last}");
    }
}
