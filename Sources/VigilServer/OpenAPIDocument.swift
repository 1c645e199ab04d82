/// The API's contract: an OpenAPI 3.1 document of every route `HTTPAPI.router` registers, served at
/// `/openapi.yaml` and (converted) `/openapi.json`.
enum OpenAPIDocument {
  static let yaml = #"""
openapi: 3.1.0
info:
  title: Vigil API
  version: "1"
  description: >-
    The HTTP API of `vigil serve`, the etcd control-plane guardian: the health of every guarded cluster and member,
    incidents with their timelines, health transitions, probe runs and inspections on demand, repair plans with their
    journaled steps and the audit log, pause and resume of automatic repair, failover between sites, the endpoints
    clients should follow, Prometheus metrics and service discovery, the release gate and API tokens. Once tokens are
    in force (any token exists, `api.requireTokens`, or a non-loopback listener) every route but the public ones needs
    `Authorization: Bearer TOKEN` whose role allows it (`x-vigil-requirement`: `none` public; `read` viewer, operator,
    admin; `gate` any role; `operate` operator, admin; `administer` admin); a missing or unknown token gets 401, a role
    that may not use the route 403. Errors are JSON `{"error": "..."}`; times are seconds since 1970.
paths:
  /:
    get:
      operationId: getDashboard
      summary: The dashboard, a self-contained HTML page whose data comes from the other routes.
      tags: [dashboard]
      x-vigil-requirement: none
      security: []
      responses:
        "200":
          description: The page (it holds no data).
          content:
            text/html:
              schema:
                type: string
  /v1/events:
    get:
      operationId: streamEvents
      summary: Server-sent events, the status every second for ten seconds (one with once=true).
      tags: [dashboard]
      x-vigil-requirement: read
      security:
        - bearer: []
      parameters:
        - name: once
          in: query
          required: false
          description: "`true`: send one event and end the stream; `false` (the default): stream."
          schema:
            type: boolean
      responses:
        "200":
          description: >-
            An event stream (`event: status`, `data:` the `/status` JSON on one line), one event a second, ending after
            ten seconds or after the first with `once=true`.
          content:
            text/event-stream:
              schema:
                $ref: "#/components/schemas/StatusEvent"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
  /healthz:
    get:
      operationId: getHealth
      summary: Vigil's own liveness, whether every loop still turns.
      tags: [health]
      x-vigil-requirement: none
      security: []
      responses:
        "200":
          description: Every loop turns.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Health"
        "503":
          description: Some loops are stalled (named in `stalled`).
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Health"
  /readyz:
    get:
      operationId: getReadiness
      summary: Readiness, once the clusters are loaded and every probe target has a first result.
      tags: [health]
      x-vigil-requirement: none
      security: []
      responses:
        "200":
          description: Ready.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Readiness"
        "503":
          description: Not ready yet.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Readiness"
  /metrics:
    get:
      operationId: getMetrics
      summary: Prometheus text exposition (public unless `api.publicMetrics` is false).
      tags: [health]
      x-vigil-requirement: read
      security:
        - bearer: []
        - {}
      responses:
        "200":
          description: The metrics, Prometheus text format 0.0.4.
          content:
            text/plain:
              schema:
                type: string
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
  /status:
    get:
      operationId: getStatus
      summary: Every cluster's health, members, diagnoses, findings, probes and open incidents.
      tags: [status]
      x-vigil-requirement: read
      security:
        - bearer: []
      responses:
        "200":
          description: The status now.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/MonitorStatus"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
  /v1/incidents:
    get:
      operationId: listIncidents
      summary: Incidents with their timelines, newest first.
      tags: [incidents]
      x-vigil-requirement: read
      security:
        - bearer: []
      parameters:
        - name: open
          in: query
          required: false
          description: "`true`: open incidents only (default `false`)."
          schema:
            type: boolean
        - $ref: "#/components/parameters/ClusterFilter"
        - name: limit
          in: query
          required: false
          description: At most this many (default 50).
          schema:
            type: integer
            minimum: 1
            maximum: 10000
      responses:
        "200":
          description: The incidents.
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: "#/components/schemas/Incident"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
  /v1/incidents/{id}:
    get:
      operationId: getIncident
      summary: One incident with its whole timeline.
      tags: [incidents]
      x-vigil-requirement: read
      security:
        - bearer: []
      parameters:
        - name: id
          in: path
          required: true
          description: The incident's number (anything else is a 400).
          schema:
            type: integer
            format: int64
      responses:
        "200":
          description: The incident.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Incident"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
  /v1/transitions:
    get:
      operationId: listTransitions
      summary: Health transitions with their evidence, newest first.
      tags: [incidents]
      x-vigil-requirement: read
      security:
        - bearer: []
      parameters:
        - $ref: "#/components/parameters/ClusterFilter"
        - name: limit
          in: query
          required: false
          description: At most this many (default 100).
          schema:
            type: integer
            minimum: 1
            maximum: 10000
      responses:
        "200":
          description: The transitions.
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: "#/components/schemas/Transition"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
  /v1/probes/run:
    post:
      operationId: runProbe
      summary: Runs the probes of one name now (of one cluster, or of every cluster); the results feed the detector too.
      tags: [probes]
      x-vigil-requirement: operate
      security:
        - bearer: []
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [probe]
              additionalProperties: false
              properties:
                probe:
                  type: string
                  description: The probe's name.
                cluster:
                  type: string
                  description: Only this cluster's targets.
      responses:
        "200":
          description: One report per target probed, by subject.
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: "#/components/schemas/ProbeRunReport"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
  /v1/inspect:
    post:
      operationId: inspect
      summary: Runs the directed inspections now (of one cluster, or of every cluster).
      tags: [probes]
      x-vigil-requirement: operate
      security:
        - bearer: []
      requestBody:
        required: false
        description: An empty body inspects every cluster.
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              properties:
                cluster:
                  type: string
      responses:
        "200":
          description: The findings, by cluster name.
          content:
            application/json:
              schema:
                type: object
                additionalProperties:
                  type: array
                  items:
                    $ref: "#/components/schemas/Finding"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
  /v1/reports/{token}:
    post:
      operationId: deliverProbeReport
      summary: An exec probe's result, posted to the one-time URL of its run (the token is the credential).
      tags: [probes]
      x-vigil-requirement: none
      security: []
      parameters:
        - name: token
          in: path
          required: true
          description: The run's one-time report token (from `VIGIL_REPORT_URL`).
          schema:
            type: string
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [status]
              additionalProperties: false
              properties:
                status:
                  type: string
                  description: OK, WARNING, CRITICAL or UNKNOWN (any case).
                  enum: [OK, WARNING, CRITICAL, UNKNOWN]
                message:
                  type: string
                metrics:
                  type: object
                  additionalProperties:
                    type: number
                steps:
                  type: array
                  items:
                    type: object
                    required: [name, seconds]
                    properties:
                      name:
                        type: string
                      seconds:
                        type: number
                        minimum: 0
                        maximum: 86400
                      ok:
                        type: boolean
                        description: Default true.
      responses:
        "204":
          description: Accepted for the waiting run.
        "400":
          $ref: "#/components/responses/BadRequest"
        "404":
          $ref: "#/components/responses/NotFound"
        "413":
          description: The body is larger than 1 MiB.
  /v1/repairs:
    get:
      operationId: listRepairs
      summary: Repair plans with their journaled steps, newest first.
      tags: [repair]
      x-vigil-requirement: read
      security:
        - bearer: []
      parameters:
        - $ref: "#/components/parameters/ClusterFilter"
        - name: state
          in: query
          required: false
          description: Only plans in this state.
          schema:
            $ref: "#/components/schemas/PlanState"
        - name: limit
          in: query
          required: false
          description: At most this many (default 50).
          schema:
            type: integer
            minimum: 1
            maximum: 10000
      responses:
        "200":
          description: The plans.
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: "#/components/schemas/RepairPlan"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
    post:
      operationId: runRepair
      summary: Runs a runbook by hand through the safety guards; answers when the plan has ended.
      tags: [repair]
      x-vigil-requirement: administer
      security:
        - bearer: []
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [runbook, cluster]
              additionalProperties: false
              properties:
                runbook:
                  $ref: "#/components/schemas/Runbook"
                cluster:
                  type: string
                member:
                  type: string
                  description: The member (restart-member, unstick-member, replace-member need one).
                operator:
                  type: string
                  description: Who acts, when the request carries no token (a token's name wins).
                reason:
                  type: string
                dryRun:
                  type: string
                  description: "`true`: only write the plan out."
                  enum: ["true", "false"]
      responses:
        "200":
          description: The plan as it ended (or as written, for a dry run).
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/RepairPlan"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
  /v1/repairs/{id}:
    get:
      operationId: getRepair
      summary: One plan and its audit entries.
      tags: [repair]
      x-vigil-requirement: read
      security:
        - bearer: []
      parameters:
        - $ref: "#/components/parameters/PlanID"
      responses:
        "200":
          description: The plan and its audit entries, oldest first.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/PlanWithAudit"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
  /v1/repairs/{id}/approve:
    post:
      operationId: approveRepair
      summary: Approves a plan waiting for approval and starts it.
      tags: [repair]
      x-vigil-requirement: operate
      security:
        - bearer: []
      parameters:
        - $ref: "#/components/parameters/PlanID"
      requestBody:
        $ref: "#/components/requestBodies/Decision"
      responses:
        "200":
          description: The plan, approved.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/RepairPlan"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
  /v1/repairs/{id}/reject:
    post:
      operationId: rejectRepair
      summary: Rejects a plan waiting for approval; its fault is not planned for again until it clears.
      tags: [repair]
      x-vigil-requirement: operate
      security:
        - bearer: []
      parameters:
        - $ref: "#/components/parameters/PlanID"
      requestBody:
        $ref: "#/components/requestBodies/Decision"
      responses:
        "200":
          description: The plan, rejected.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/RepairPlan"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
  /v1/clusters/{name}/pause:
    post:
      operationId: pauseRepair
      summary: Stops automatic repair of a cluster (kept across restarts; a running plan finishes).
      tags: [repair]
      x-vigil-requirement: operate
      security:
        - bearer: []
      parameters:
        - $ref: "#/components/parameters/ClusterName"
      requestBody:
        $ref: "#/components/requestBodies/Decision"
      responses:
        "200":
          description: Paused.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/RepairSwitch"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
  /v1/clusters/{name}/resume:
    post:
      operationId: resumeRepair
      summary: Resumes automatic repair of a cluster; faults escalated before may be planned again.
      tags: [repair]
      x-vigil-requirement: operate
      security:
        - bearer: []
      parameters:
        - $ref: "#/components/parameters/ClusterName"
      requestBody:
        $ref: "#/components/requestBodies/Decision"
      responses:
        "200":
          description: Resumed.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/RepairSwitch"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
  /v1/clusters/{name}/failover:
    post:
      operationId: failover
      summary: Switches the cluster's pair to its other side (promote-standby); answers when the plan has ended.
      tags: [sites]
      x-vigil-requirement: administer
      security:
        - bearer: []
      parameters:
        - $ref: "#/components/parameters/ClusterName"
      requestBody:
        $ref: "#/components/requestBodies/Decision"
      responses:
        "200":
          description: The promote-standby plan as it ended.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/RepairPlan"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
  /v1/audit:
    get:
      operationId: listAudit
      summary: The audit log, newest first.
      tags: [repair]
      x-vigil-requirement: read
      security:
        - bearer: []
      parameters:
        - $ref: "#/components/parameters/ClusterFilter"
        - name: limit
          in: query
          required: false
          description: At most this many (default 100).
          schema:
            type: integer
            minimum: 1
            maximum: 10000
      responses:
        "200":
          description: The entries.
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: "#/components/schemas/AuditEntry"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
  /v1/audit/verify:
    get:
      operationId: verifyAudit
      summary: The audit log's hash chain, checked.
      tags: [repair]
      x-vigil-requirement: read
      security:
        - bearer: []
      responses:
        "200":
          description: The outcome (a broken chain is `ok` false, still 200).
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/AuditVerification"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
  /v1/repair-control:
    get:
      operationId: getRepairControl
      summary: Clusters whose automatic repair is paused, and faults escalated to a person.
      tags: [repair]
      x-vigil-requirement: read
      security:
        - bearer: []
      responses:
        "200":
          description: Paused clusters and escalations.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/RepairControl"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
  /v1/clusters/{name}/endpoints:
    get:
      operationId: getEndpoints
      summary: The healthy client URLs of the side serving a cluster (a pair's primary or standby name).
      tags: [sites]
      x-vigil-requirement: read
      security:
        - bearer: []
      parameters:
        - $ref: "#/components/parameters/ClusterName"
      responses:
        "200":
          description: Where the cluster's clients should connect now.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/PublishedEndpoints"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
  /v1/clusters/{name}/gate:
    get:
      operationId: getReleaseGate
      summary: The release gate, 200 to pass or 409 with every reason to hold a change back.
      tags: [sites]
      x-vigil-requirement: gate
      security:
        - bearer: []
      parameters:
        - $ref: "#/components/parameters/ClusterName"
      responses:
        "200":
          description: Pass (`decision` is `pass`, no reasons).
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/GateDecision"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          description: Fail (`decision` is `fail`), with every reason.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/GateDecision"
  /v1/sd/etcd:
    get:
      operationId: getServiceDiscovery
      summary: Prometheus HTTP service discovery, every published cluster's serving members.
      tags: [sites]
      x-vigil-requirement: read
      security:
        - bearer: []
      responses:
        "200":
          description: One target group per published cluster.
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: "#/components/schemas/ServiceDiscoveryGroup"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
  /v1/coordination:
    get:
      operationId: getCoordination
      summary: This replica among several (coordination through a management etcd) - the live replicas and its shards.
      tags: [replicas]
      x-vigil-requirement: read
      security:
        - bearer: []
      responses:
        "200":
          description: What this replica knows of the fleet.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/CoordinationStatus"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
  /v1/drills:
    get:
      operationId: listDrills
      summary: Drill suites written under api.drillReports, newest first, with each scenario's summary and runs.
      tags: [drills]
      x-vigil-requirement: read
      security:
        - bearer: []
      parameters:
        - name: limit
          in: query
          required: false
          description: At most this many suites (default 20).
          schema:
            type: integer
            minimum: 1
            maximum: 10000
      responses:
        "200":
          description: The suites (none when the directory is missing or empty).
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: "#/components/schemas/DrillSuite"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
  /v1/drills/{suite}/{file}:
    get:
      operationId: getDrillFile
      summary: A file of a drill suite, such as a run's HTML timeline.
      tags: [drills]
      x-vigil-requirement: read
      security:
        - bearer: []
      parameters:
        - name: suite
          in: path
          required: true
          description: The suite's directory (letters, digits, `.`, `_`, `-`; not starting with `.`).
          schema:
            type: string
        - name: file
          in: path
          required: true
          description: "`timeline-SCENARIO-N.html`, `run-SCENARIO-N.json`, `history-SCENARIO-N.json`, `report.json` or `report.txt`."
          schema:
            type: string
      responses:
        "200":
          description: The file.
          content:
            text/html:
              schema:
                type: string
            application/json:
              schema:
                type: object
            text/plain:
              schema:
                type: string
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
  /v1/tokens:
    get:
      operationId: listTokens
      summary: The API tokens (never their text).
      tags: [tokens]
      x-vigil-requirement: administer
      security:
        - bearer: []
      responses:
        "200":
          description: The tokens.
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: "#/components/schemas/TokenInfo"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
    post:
      operationId: createToken
      summary: Makes a token; the answer is the only time its text is shown.
      tags: [tokens]
      x-vigil-requirement: administer
      security:
        - bearer: []
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name, role]
              additionalProperties: false
              properties:
                name:
                  type: string
                  description: Letters, digits, `-` `_` `.` `@`; at most 64; not `vigil`.
                  minLength: 1
                  maxLength: 64
                role:
                  $ref: "#/components/schemas/APIRole"
      responses:
        "201":
          description: The new token.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/NewToken"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "409":
          $ref: "#/components/responses/Conflict"
  /v1/tokens/{name}:
    delete:
      operationId: revokeToken
      summary: Revokes a token (refused from its next request).
      tags: [tokens]
      x-vigil-requirement: administer
      security:
        - bearer: []
      parameters:
        - name: name
          in: path
          required: true
          description: The token's name.
          schema:
            type: string
      responses:
        "200":
          description: Revoked.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/RevokedToken"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
  /openapi.json:
    get:
      operationId: getOpenAPIJSON
      summary: This document, as JSON.
      tags: [meta]
      x-vigil-requirement: none
      security: []
      responses:
        "200":
          description: The OpenAPI document.
          content:
            application/json:
              schema:
                type: object
  /openapi.yaml:
    get:
      operationId: getOpenAPIYAML
      summary: This document, as YAML.
      tags: [meta]
      x-vigil-requirement: none
      security: []
      responses:
        "200":
          description: The OpenAPI document (the same mapping as `/openapi.json`, as YAML text).
          content:
            application/yaml:
              schema:
                type: object
components:
  securitySchemes:
    bearer:
      type: http
      scheme: bearer
      description: An API token (`vigil token create`), `vigil_` and 64 hex digits.
  parameters:
    ClusterFilter:
      name: cluster
      in: query
      required: false
      description: Only this cluster's.
      schema:
        type: string
    ClusterName:
      name: name
      in: path
      required: true
      description: The cluster's name.
      schema:
        type: string
    PlanID:
      name: id
      in: path
      required: true
      description: The plan's number (anything else is a 400).
      schema:
        type: integer
        format: int64
  requestBodies:
    Decision:
      required: false
      description: >-
        Who acts and why. `operator` is needed when the request carries no token (an API without tokens); with a
        token, the token's name is the actor and `operator` is ignored.
      content:
        application/json:
          schema:
            type: object
            additionalProperties: false
            properties:
              operator:
                type: string
              reason:
                type: string
  responses:
    BadRequest:
      description: The request is wrong (a field, a query parameter or the body), said in `error`.
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    Unauthorized:
      description: No bearer token, or one Vigil does not know (while tokens are in force).
      headers:
        WWW-Authenticate:
          description: "`Bearer realm=\"vigil\"`"
          schema:
            type: string
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    Forbidden:
      description: The token's role may not use this route (the error names the roles that may).
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    NotFound:
      description: No such thing (cluster, incident, plan, probe, token…), said in `error`.
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    Conflict:
      description: The request conflicts with the state (a plan already running, a plan not awaiting approval, a name taken…).
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
  schemas:
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: string
    HealthState:
      type: string
      enum: [unknown, healthy, suspect, failed]
    Fault:
      type: string
      enum: [crashed, hung, partitioned, slow disk, NOSPACE, data loss, corruption, no leader, quorum lost]
    Severity:
      type: string
      enum: [info, warning, critical]
    APIRole:
      type: string
      enum: [viewer, operator, admin, ci]
    Runbook:
      type: string
      enum:
        - restart-member
        - unstick-member
        - replace-member
        - defragment
        - clear-nospace
        - move-leader
        - restart-members
        - restore-cluster
        - promote-standby
        - rotate-certificates
    PlanState:
      type: string
      enum: [awaiting-approval, ready, running, succeeded, failed, abandoned, rejected, dry-run]
    StepAction:
      type: string
      enum:
        - fence
        - kill-member
        - start-member
        - wait-healthy
        - snapshot
        - remove-member
        - provision
        - add-learner
        - start-new-member
        - wait-caught-up
        - promote
        - compact
        - defragment
        - disarm-alarms
        - move-leader
        - verify-writes
        - verify-cluster
        - confirm-quorum-lost
        - fence-members
        - replay-change-log
        - restore-members
        - start-members
        - fence-old-side
        - drain-standby
        - compact-new-side
        - switch-active
        - start-old-side
        - rotate-member-certificates
        - verify-certificate
    StepState:
      type: string
      enum: [pending, running, done, failed, skipped]
    Health:
      type: object
      required: [status, loops, stalled]
      properties:
        status:
          type: string
          enum: [ok, stalled]
        loops:
          type: integer
          description: Loops watched.
        stalled:
          type: array
          items:
            $ref: "#/components/schemas/StalledLoop"
    StatusEvent:
      description: >-
        The event stream: as a whole, text; read event by event (as OpenAPI 3.2's `itemSchema` and schemathesis do),
        each event is `event: status` with the `/status` JSON (a MonitorStatus) on its one `data:` line.
      anyOf:
        - type: string
        - type: object
          required: [event, data]
          properties:
            event:
              type: string
              const: status
            data:
              type: string
              contentMediaType: application/json
              contentSchema:
                $ref: "#/components/schemas/MonitorStatus"
    StalledLoop:
      type: object
      required: [loop, ageSeconds, periodSeconds]
      properties:
        loop:
          type: string
          description: The loop's name (`probe:cluster/m1|etcd.kv`, `history-writer`, `repair`, …).
        ageSeconds:
          type: number
          description: Seconds since its last turn (or since it was registered).
        periodSeconds:
          type: number
          description: The longest a healthy turn of this loop takes.
    Readiness:
      type: object
      required: [ready, firstRoundPending]
      properties:
        ready:
          type: boolean
        firstRoundPending:
          type: integer
          description: Probe targets still waiting for their first result.
    MonitorStatus:
      type: object
      required: [generatedAt, clusters]
      properties:
        generatedAt:
          type: number
        clusters:
          type: array
          items:
            $ref: "#/components/schemas/ClusterStatus"
    ClusterStatus:
      type: object
      required: [name, tier, health, endpoints, members, diagnoses, findings, probes, openIncidents]
      properties:
        name:
          type: string
        tier:
          type: string
        health:
          $ref: "#/components/schemas/HealthState"
        endpoints:
          type: array
          items:
            type: string
        members:
          type: array
          items:
            $ref: "#/components/schemas/MemberStatus"
        diagnoses:
          type: array
          items:
            $ref: "#/components/schemas/Diagnosis"
        findings:
          type: array
          items:
            $ref: "#/components/schemas/Finding"
        probes:
          type: array
          items:
            $ref: "#/components/schemas/ProbeStatusLine"
        openIncidents:
          type: array
          items:
            $ref: "#/components/schemas/Incident"
        standby:
          $ref: "#/components/schemas/StandbyStatus"
    MemberStatus:
      type: object
      required: [name, id, learner, health]
      properties:
        name:
          type: string
        id:
          type: string
        endpoint:
          type: string
        learner:
          type: boolean
        health:
          $ref: "#/components/schemas/HealthState"
        diagnosis:
          type: string
    ProbeStatusLine:
      type: object
      required: [subject, probe, health, runs]
      properties:
        subject:
          type: string
        probe:
          type: string
        health:
          $ref: "#/components/schemas/HealthState"
        lastOK:
          type: boolean
        lastMessage:
          type: string
        lastLatencyMs:
          type: number
        lastAt:
          type: number
        runs:
          type: integer
    StandbyStatus:
      type: object
      required:
        [cluster, active, standby, phase, appliedRevision, primaryRevision, lagRevisions, lagSeconds, offset, seeds]
      properties:
        cluster:
          type: string
          description: The pair's name (the configured primary's).
        active:
          type: string
        standby:
          type: string
        phase:
          type: string
          enum: [starting, seeding, mirroring, refused, stopped]
        appliedRevision:
          type: integer
        primaryRevision:
          type: integer
        lagRevisions:
          type: integer
        lagSeconds:
          type: number
        offset:
          type: integer
          description: Standby revision minus primary revision.
        seeds:
          type: integer
        lastError:
          type: string
    Diagnosis:
      type: object
      required: [fault, reason]
      properties:
        fault:
          $ref: "#/components/schemas/Fault"
        member:
          type: string
          description: The member; absent for a cluster-wide fault.
        reason:
          type: string
        evidence:
          type: array
          description: The member log lines that support it (the newest few of each log that does).
          items:
            type: string
    Finding:
      type: object
      required: [check, cluster, severity, summary, evidence, action]
      properties:
        check:
          type: string
          description: Which check (`member-count`, `quota`, `alarm`, `backup-age`, `standby-lag`, …).
        cluster:
          type: string
        member:
          type: string
        severity:
          $ref: "#/components/schemas/Severity"
        summary:
          type: string
        evidence:
          type: array
          items:
            type: string
        action:
          type: string
    Incident:
      type: object
      required: [id, cluster, subject, openedAt, onsetAt, worst, timeline]
      properties:
        id:
          type: integer
          format: int64
        cluster:
          type: string
        subject:
          type: string
          description: "`cluster` or `cluster/member`."
        member:
          type: string
        openedAt:
          type: number
        onsetAt:
          type: number
        detectedAt:
          type: number
        closedAt:
          type: number
        worst:
          $ref: "#/components/schemas/HealthState"
        fault:
          $ref: "#/components/schemas/Fault"
        diagnosis:
          type: string
        timeline:
          type: array
          items:
            $ref: "#/components/schemas/IncidentEvent"
        recoveredAt:
          type: number
    IncidentEvent:
      type: object
      required: [at, kind, text]
      properties:
        at:
          type: number
        kind:
          type: string
          description: "`probe-failure`, `transition`, `diagnosis`, `repair` or `note`."
        text:
          type: string
    Transition:
      type: object
      required: [at, cluster, subject, from, to, evidence]
      properties:
        at:
          type: number
        cluster:
          type: string
        subject:
          type: string
        from:
          $ref: "#/components/schemas/HealthState"
        to:
          $ref: "#/components/schemas/HealthState"
        evidence:
          type: array
          items:
            type: string
    ProbeRunReport:
      type: object
      required: [cluster, subject, probe, status, ok, message, latencyMs, steps, metrics]
      properties:
        cluster:
          type: string
        subject:
          type: string
        probe:
          type: string
        status:
          type: string
          enum: [OK, WARNING, CRITICAL, UNKNOWN]
        ok:
          type: boolean
        failure:
          type: string
          enum: [refused, timeout, interrupted, security, badAnswer, other]
        message:
          type: string
        latencyMs:
          type: number
        steps:
          type: array
          items:
            type: object
            required: [name, latencyMs, ok]
            properties:
              name:
                type: string
              latencyMs:
                type: number
              ok:
                type: boolean
        metrics:
          type: object
          additionalProperties:
            type: number
    PlanStep:
      type: object
      required: [action, state]
      properties:
        action:
          $ref: "#/components/schemas/StepAction"
        member:
          type: string
          description: The member it acts on; absent for the cluster.
        state:
          $ref: "#/components/schemas/StepState"
        startedAt:
          type: number
        finishedAt:
          type: number
        detail:
          type: string
    RepairPlan:
      type: object
      required: [id, cluster, runbook, reason, requestedBy, state, createdAt, updatedAt, attempt, steps, context]
      properties:
        id:
          type: integer
          format: int64
        cluster:
          type: string
        member:
          type: string
        runbook:
          $ref: "#/components/schemas/Runbook"
        fault:
          $ref: "#/components/schemas/Fault"
        reason:
          type: string
        incidentID:
          type: integer
          format: int64
        requestedBy:
          type: string
          description: "`vigil` or the operator's name."
        state:
          $ref: "#/components/schemas/PlanState"
        createdAt:
          type: number
        updatedAt:
          type: number
        finishedAt:
          type: number
        attempt:
          type: integer
        steps:
          type: array
          items:
            $ref: "#/components/schemas/PlanStep"
        context:
          type: object
          additionalProperties:
            type: string
        decidedBy:
          type: string
        outcome:
          type: string
    AuditEntry:
      type: object
      required: [seq, at, actor, action, cluster, inputs, result, reason, prevHash, hash]
      properties:
        seq:
          type: integer
          format: int64
        at:
          type: number
        actor:
          type: string
          description: "`vigil` or the operator's (token's) name."
        action:
          type: string
          description: "`plan`, `step`, `refused`, `escalated`, `approved`, `rejected`, `paused`, `resumed`, `finished`, …"
        cluster:
          type: string
        subject:
          type: string
        incidentID:
          type: integer
          format: int64
        planID:
          type: integer
          format: int64
        runbook:
          type: string
        step:
          type: string
        inputs:
          type: string
        result:
          type: string
        reason:
          type: string
        prevHash:
          type: string
        hash:
          type: string
    PlanWithAudit:
      type: object
      required: [plan, audit]
      properties:
        plan:
          $ref: "#/components/schemas/RepairPlan"
        audit:
          type: array
          items:
            $ref: "#/components/schemas/AuditEntry"
    AuditVerification:
      type: object
      required: [entries, ok]
      properties:
        entries:
          type: integer
        ok:
          type: boolean
        firstBadSeq:
          type: integer
          format: int64
          description: The first entry whose hash or link does not match.
        problem:
          type: string
    RepairControl:
      type: object
      required: [paused, escalated]
      properties:
        paused:
          type: array
          items:
            type: string
        escalated:
          type: array
          description: Faults escalated to a person, as `cluster/member/fault` keys.
          items:
            type: string
    RepairSwitch:
      type: object
      required: [cluster, repair]
      properties:
        cluster:
          type: string
        repair:
          type: string
          enum: [paused, resumed]
    PublishedEndpoints:
      type: object
      required: [cluster, active, endpoints, changedAt]
      properties:
        cluster:
          type: string
          description: The name clients know (a pair's primary, or a cluster without a standby).
        active:
          type: string
          description: The cluster serving it now.
        standby:
          type: string
          description: The other side of its pair, if it has one.
        endpoints:
          type: array
          description: Client URLs of the active side's healthy voters, in member order.
          items:
            type: string
        changedAt:
          type: number
          description: When the active side last changed (0 as configured).
    ServiceDiscoveryGroup:
      type: object
      required: [targets, labels]
      properties:
        targets:
          type: array
          description: "`host:port` of each serving member."
          items:
            type: string
        labels:
          type: object
          required: [cluster, etcd_cluster, role]
          properties:
            cluster:
              type: string
            etcd_cluster:
              type: string
            role:
              type: string
          additionalProperties:
            type: string
    GateDecision:
      type: object
      required: [decision, cluster, reasons]
      properties:
        decision:
          type: string
          enum: [pass, fail]
        cluster:
          type: string
        reasons:
          type: array
          items:
            type: string
    TokenInfo:
      type: object
      required: [name, role, createdAt, createdBy]
      properties:
        name:
          type: string
        role:
          $ref: "#/components/schemas/APIRole"
        createdAt:
          type: number
        createdBy:
          type: string
    NewToken:
      type: object
      required: [name, role, token]
      properties:
        name:
          type: string
        role:
          $ref: "#/components/schemas/APIRole"
        token:
          type: string
          description: The token's text, shown only this once.
    RevokedToken:
      type: object
      required: [name, revoked]
      properties:
        name:
          type: string
        revoked:
          type: string
          description: Always the text `true`.
          const: "true"
    Spread:
      type: object
      required: [count]
      properties:
        count:
          type: integer
        min:
          type: number
        median:
          type: number
        max:
          type: number
    DrillSummary:
      type: object
      required: [scenario, runs, passed, mttd, mttr, unavailable, lostWrites, violations, undecided, errors, unknowns]
      properties:
        scenario:
          type: string
        runs:
          type: integer
        passed:
          type: integer
        mttd:
          $ref: "#/components/schemas/Spread"
        mttr:
          $ref: "#/components/schemas/Spread"
        unavailable:
          $ref: "#/components/schemas/Spread"
        lostWrites:
          type: integer
        violations:
          type: integer
        undecided:
          type: integer
        errors:
          type: integer
        unknowns:
          type: integer
    DrillRunListing:
      type: object
      required: [scenario, number, startedAt, passed, problems]
      properties:
        scenario:
          type: string
        number:
          type: integer
          description: The run's number within its scenario, from 1.
        startedAt:
          type: number
        passed:
          type: boolean
        problems:
          type: array
          description: Why it failed (empty when it passed).
          items:
            type: string
        timeline:
          type: string
          description: The path of its HTML timeline, when written.
    DrillSuite:
      type: object
      required: [id, startedAt, seed, summaries, runs]
      properties:
        id:
          type: string
          description: The suite's directory name.
        startedAt:
          type: number
        seed:
          type: integer
        summaries:
          type: array
          items:
            $ref: "#/components/schemas/DrillSummary"
        runs:
          type: array
          items:
            $ref: "#/components/schemas/DrillRunListing"
    CoordinationStatus:
      type: object
      required: [replica, replicas, shards, ownedShards, leaseValid]
      properties:
        replica:
          type: string
        replicas:
          type: array
          description: The live replicas, as last read from the management etcd.
          items:
            type: string
        shards:
          type: integer
        ownedShards:
          type: array
          items:
            type: integer
        leaseValid:
          type: boolean
          description: Whether this replica's lease is certainly alive (false - it acts on nothing).
"""#
}
