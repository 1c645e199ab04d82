import ArgumentParser
import Foundation
import VigilEtcd
import VigilRuntime

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

    @Flag(help: "Stop when the process that started vigil exits.")
    var stopWithParent = false

    @Option(help: "Restore every member from this snapshot file (etcdctl snapshot restore, new cluster token).")
    var fromSnapshot: String?

    func validate() throws {
      guard (1...9).contains(members) else {
        throw ValidationError("--members \(members) is out of range (expected 1 to 9)")
      }
      if let fromSnapshot, !FileManager.default.fileExists(atPath: fromSnapshot) {
        throw ValidationError("--from-snapshot: \"\(fromSnapshot)\" does not exist")
      }
      guard refresh >= 0, duration >= 0 else { throw ValidationError("--refresh and --duration must not be negative") }
    }

    func run() async throws {
      // Signals are caught from the start, so Ctrl-C during start-up also cleans up.
      let signals = SignalWaiter.signals()
      let options = {
        var o = LocalClusterOptions(members: members, directory: dir)
        o.snapshot = fromSnapshot
        return o
      }()
      let refresh = self.refresh
      let duration = self.duration
      let stopWithParent = self.stopWithParent
      let outcome = await withTaskGroup(of: CLIError?.self) { group in
        group.addTask {
          for await sig in signals {
            print("\nvigil: received signal \(sig), stopping the cluster")
            return nil
          }
          return nil
        }
        if stopWithParent {
          group.addTask {
            let parent = getppid()
            while !Task.isCancelled && getppid() == parent { try? await Task.sleep(for: .milliseconds(200)) }
            if !Task.isCancelled { print("vigil: parent process exited, stopping the cluster") }
            return nil
          }
        }
        group.addTask { await Self.serve(options: options, refresh: refresh, duration: duration) }
        let first = await group.next() ?? nil
        group.cancelAll()
        var error = first
        for await result in group where error == nil { error = result }
        return error
      }
      if let outcome { throw outcome }
    }

    /// Starts the cluster, shows its status until cancelled or `duration`
    /// passes, then stops it. Returns the error to report, if any.
    private static func serve(options: LocalClusterOptions, refresh: Double, duration: Double) async -> CLIError? {
      let cluster: LocalCluster
      do {
        cluster = try await LocalCluster.start(options)
      } catch is CancellationError {
        return nil
      } catch {
        return CLIError("cannot start the local cluster: \(error)")
      }
      let endpoints = await cluster.endpointList
      print("vigil: local etcd cluster with \(options.members) member(s) is up")
      print("  endpoints: \(endpoints)")
      print("  state dir: \(cluster.directory)")
      print("  try:       vigil status --endpoints \(endpoints)")
      print("  Ctrl-C stops the cluster.")
      fflush(nil)
      let deadline = duration > 0 ? ContinuousClock.now + .milliseconds(Int64(duration * 1000)) : nil
      if let client = try? EtcdClient(configuration: cluster.clientConfiguration(endpoints: await cluster.endpoints)) {
        await showStatus(client: client, refresh: refresh, until: deadline)
        await client.shutdown()
      }
      await cluster.shutdown(graceful: true)
      print("vigil: cluster stopped")
      fflush(nil)
      return nil
    }

    private static func showStatus(client: EtcdClient, refresh: Double, until deadline: ContinuousClock.Instant?) async {
      let interactive = isatty(1) == 1
      var last = ""
      var drawnLines = 0
      while !Task.isCancelled {
        if let deadline, ContinuousClock.now >= deadline { return }
        if refresh > 0 {
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
        }
        var pause = Duration.milliseconds(Int64((refresh > 0 ? refresh : 1) * 1000))
        if let deadline { pause = min(pause, deadline - ContinuousClock.now) }
        if pause > .zero { try? await Task.sleep(for: pause) }
      }
    }
  }
}
