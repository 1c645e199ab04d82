import ArgumentParser
import Foundation
import VigilEtcd
import VigilLocal

/// `vigil cluster …`: the local runtime.
struct ClusterCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cluster",
    abstract: "Run etcd clusters locally (the embedded default).",
    subcommands: [Up.self]
  )

  struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "up",
      abstract: "Start a local etcd cluster, show its live status, stop it on Ctrl-C."
    )

    @Option(help: "Number of members (1 to 9).")
    var members: Int = 3

    @Option(help: "State directory (member data and logs); default: a temporary directory removed on exit.")
    var dir: String?

    @Option(help: "Seconds between status refreshes (0: print the endpoints only).")
    var refresh: Double = 2

    @Option(help: "Stop by itself after this many seconds (0: run until Ctrl-C).")
    var duration: Double = 0

    func validate() throws {
      guard (1...9).contains(members) else {
        throw ValidationError("--members \(members) is out of range (expected 1 to 9)")
      }
      guard refresh >= 0, duration >= 0 else { throw ValidationError("--refresh and --duration must not be negative") }
    }

    func run() async throws {
      let cluster: LocalCluster
      do {
        cluster = try await LocalCluster.start(LocalClusterOptions(members: members, directory: dir))
      } catch {
        throw CLIError("cannot start the local cluster: \(error)")
      }
      let endpoints = await cluster.endpointList
      print("vigil: local etcd cluster with \(members) member(s) is up")
      print("  endpoints: \(endpoints)")
      print("  state dir: \(cluster.directory)")
      print("  try:       vigil status --endpoints \(endpoints)")
      print("  Ctrl-C stops the cluster.")
      fflush(nil)
      let client = try EtcdClient(configuration: cluster.clientConfiguration(endpoints: await cluster.endpoints))
      let interactive = isatty(1) == 1
      let refresh = self.refresh
      let duration = self.duration
      await withTaskGroup(of: Void.self) { group in
        group.addTask {
          for await sig in SignalWaiter.signals() {
            print("\nvigil: received signal \(sig), stopping the cluster")
            return
          }
        }
        if duration > 0 {
          group.addTask { try? await Task.sleep(for: .milliseconds(Int64(duration * 1000))) }
        }
        if refresh > 0 {
          group.addTask {
            var last = ""
            var drawnLines = 0
            while !Task.isCancelled {
              let table = StatusReport.render(await StatusReport.gather(client: client))
              if interactive {
                // Redraw in place: move up over the previous table, clear, print.
                if drawnLines > 0 { print("\u{1B}[\(drawnLines)A\u{1B}[J", terminator: "") }
                let text = "\n\(Date().formatted(date: .omitted, time: .standard))\n\(table)"
                print(text)
                drawnLines = text.split(separator: "\n", omittingEmptySubsequences: false).count
              } else if table != last {
                print("\n\(table)")
              }
              last = table
              fflush(nil)
              try? await Task.sleep(for: .milliseconds(Int64(refresh * 1000)))
            }
          }
        }
        await group.next()
        group.cancelAll()
      }
      await client.shutdown()
      await cluster.shutdown()
      print("vigil: cluster stopped")
    }
  }
}
