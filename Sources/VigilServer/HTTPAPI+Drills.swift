import Foundation
import Hummingbird

extension HTTPAPI {
  static func addDrillRoutes(_ router: Router<VigilRequestContext>, drills: DrillReports) {
    router.get("/v1/drills") { request, _ in
      let q = request.uri.queryParameters
      guard let limit = limit(q.get("limit"), default: 20) else { return badLimit(q.get("limit")) }
      return try json(drills.suites(limit: limit))
    }
    router.get("/v1/drills/:suite/:file") { _, context in
      let suite = pathParameter(context, "suite")
      let name = pathParameter(context, "file")
      guard DrillReports.validSuite(suite), DrillReports.contentType(name) != nil else {
        return problem(
          .badRequest,
          "\"\(suite)/\(name)\" is not a drill report's file (expected SUITE/timeline-SCENARIO-N.html, run-…json, history-…json, report.json or report.txt)"
        )
      }
      guard let file = drills.file(suite: suite, name: name) else {
        return problem(.notFound, "no drill report file \(suite)/\(name) under \(drills.root)")
      }
      return Response(
        status: .ok, headers: [.contentType: file.contentType], body: .init(byteBuffer: ByteBuffer(data: file.data)))
    }
  }
}
