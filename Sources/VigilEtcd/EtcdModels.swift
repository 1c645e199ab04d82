import Foundation
import VigilEtcdProto

/// A stored key and its revisions.
public struct EtcdKeyValue: Sendable, Hashable {
  public var key: [UInt8]
  public var value: [UInt8]
  public var createRevision: Int64
  public var modRevision: Int64
  public var version: Int64
  public var lease: Int64

  public var keyString: String { String(decoding: key, as: UTF8.self) }
  public var valueString: String { String(decoding: value, as: UTF8.self) }

  init(_ kv: Mvccpb_KeyValue) {
    key = Array(kv.key)
    value = Array(kv.value)
    createRevision = kv.createRevision
    modRevision = kv.modRevision
    version = kv.version
    lease = kv.lease
  }
}

/// How a read is served.
public enum EtcdConsistency: Sendable, Hashable {
  /// Through the leader: sees every acknowledged write.
  case linearizable
  /// From the member's local state: fast, possibly stale.
  case serializable
}

/// The result of a range read.
public struct EtcdRangeResult: Sendable, Hashable {
  public var kvs: [EtcdKeyValue]
  public var count: Int64
  public var more: Bool
  /// The store revision the read was served at.
  public var revision: Int64
}

public struct EtcdPutResult: Sendable, Hashable {
  public var revision: Int64
  public var previous: EtcdKeyValue?
}

public struct EtcdDeleteResult: Sendable, Hashable {
  public var deleted: Int64
  public var revision: Int64
  public var previous: [EtcdKeyValue]
}

/// A comparison in a transaction's guard.
public struct EtcdCompare: Sendable, Hashable {
  public enum Operator: Sendable, Hashable { case equal, notEqual, greater, less }
  enum Target: Sendable, Hashable {
    case value([UInt8]), version(Int64), createRevision(Int64), modRevision(Int64), lease(Int64)
  }
  var key: String
  var op: Operator
  var target: Target

  public static func value(_ key: String, _ op: Operator, _ value: String) -> EtcdCompare {
    .init(key: key, op: op, target: .value(Array(value.utf8)))
  }
  public static func version(_ key: String, _ op: Operator, _ version: Int64) -> EtcdCompare {
    .init(key: key, op: op, target: .version(version))
  }
  public static func createRevision(_ key: String, _ op: Operator, _ revision: Int64) -> EtcdCompare {
    .init(key: key, op: op, target: .createRevision(revision))
  }
  public static func modRevision(_ key: String, _ op: Operator, _ revision: Int64) -> EtcdCompare {
    .init(key: key, op: op, target: .modRevision(revision))
  }
  public static func lease(_ key: String, _ op: Operator, _ lease: Int64) -> EtcdCompare {
    .init(key: key, op: op, target: .lease(lease))
  }

  var proto: Etcdserverpb_Compare {
    .with {
      $0.key = Array(key.utf8).data
      switch op {
      case .equal: $0.result = .equal
      case .notEqual: $0.result = .notEqual
      case .greater: $0.result = .greater
      case .less: $0.result = .less
      }
      switch target {
      case .value(let v):
        $0.target = .value
        $0.value = v.data
      case .version(let v):
        $0.target = .version
        $0.version = v
      case .createRevision(let v):
        $0.target = .create
        $0.createRevision = v
      case .modRevision(let v):
        $0.target = .mod
        $0.modRevision = v
      case .lease(let v):
        $0.target = .lease
        $0.lease = v
      }
    }
  }
}

/// One operation in a transaction branch.
public enum EtcdOp: Sendable, Hashable {
  case put(String, [UInt8], lease: Int64 = 0)
  case get(String, prefix: Bool = false)
  case delete(String, prefix: Bool = false)
  /// A put of a key given as bytes (keys need not be UTF-8: a restore replays them as they were).
  case putBytes(key: [UInt8], value: [UInt8], lease: Int64)
  /// A delete of one key given as bytes.
  case deleteBytes(key: [UInt8])
  /// A delete of every key in `[from, to)`; `to` of `[0]` means every key from `from` on.
  case deleteRange(from: [UInt8], to: [UInt8])

  public static func put(_ key: String, _ value: String, lease: Int64 = 0) -> EtcdOp {
    .put(key, Array(value.utf8), lease: lease)
  }

  var isRead: Bool { if case .get = self { true } else { false } }

  var proto: Etcdserverpb_RequestOp {
    .with {
      switch self {
      case .put(let key, let value, let lease):
        $0.requestPut = .with {
          $0.key = Array(key.utf8).data
          $0.value = value.data
          $0.lease = lease
        }
      case .get(let key, let prefix):
        $0.requestRange = .with {
          $0.key = Array(key.utf8).data
          if prefix { $0.rangeEnd = EtcdKV.prefixEnd(Array(key.utf8)).data }
        }
      case .delete(let key, let prefix):
        $0.requestDeleteRange = .with {
          $0.key = Array(key.utf8).data
          if prefix { $0.rangeEnd = EtcdKV.prefixEnd(Array(key.utf8)).data }
        }
      case .putBytes(let key, let value, let lease):
        $0.requestPut = .with {
          $0.key = key.data
          $0.value = value.data
          $0.lease = lease
        }
      case .deleteBytes(let key):
        $0.requestDeleteRange = .with { $0.key = key.data }
      case .deleteRange(let from, let to):
        $0.requestDeleteRange = .with {
          $0.key = from.data
          $0.rangeEnd = to.data
        }
      }
    }
  }
}

/// What one transaction operation returned.
public enum EtcdOpResult: Sendable, Hashable {
  case put(EtcdPutResult)
  case range(EtcdRangeResult)
  case delete(EtcdDeleteResult)
}

/// A transaction's outcome: which branch ran and what it returned.
public struct EtcdTxnResult: Sendable, Hashable {
  public var succeeded: Bool
  public var revision: Int64
  public var results: [EtcdOpResult]
}

/// A cluster member as etcd lists it.
public struct EtcdMember: Sendable, Hashable {
  public var id: UInt64
  /// Empty for a member that was added but has not started yet.
  public var name: String
  public var peerURLs: [String]
  public var clientURLs: [String]
  public var isLearner: Bool

  public init(id: UInt64, name: String, peerURLs: [String], clientURLs: [String], isLearner: Bool = false) {
    self.id = id
    self.name = name
    self.peerURLs = peerURLs
    self.clientURLs = clientURLs
    self.isLearner = isLearner
  }

  init(_ m: Etcdserverpb_Member) {
    id = m.id
    name = m.name
    peerURLs = m.peerUrls
    clientURLs = m.clientUrls
    isLearner = m.isLearner
  }
}

/// One member's view of itself (`etcdctl endpoint status`).
public struct EtcdMemberStatus: Sendable, Hashable {
  public var memberID: UInt64
  public var clusterID: UInt64
  public var version: String
  public var dbSize: Int64
  public var dbSizeInUse: Int64
  public var leader: UInt64
  public var raftIndex: UInt64
  public var raftTerm: UInt64
  public var raftAppliedIndex: UInt64
  public var revision: Int64
  public var errors: [String]
  public var isLearner: Bool

  public var isLeader: Bool { leader != 0 && leader == memberID }

  public init(
    memberID: UInt64, clusterID: UInt64, version: String, dbSize: Int64, dbSizeInUse: Int64, leader: UInt64,
    raftIndex: UInt64, raftTerm: UInt64, raftAppliedIndex: UInt64, revision: Int64, errors: [String], isLearner: Bool
  ) {
    self.memberID = memberID
    self.clusterID = clusterID
    self.version = version
    self.dbSize = dbSize
    self.dbSizeInUse = dbSizeInUse
    self.leader = leader
    self.raftIndex = raftIndex
    self.raftTerm = raftTerm
    self.raftAppliedIndex = raftAppliedIndex
    self.revision = revision
    self.errors = errors
    self.isLearner = isLearner
  }
}

/// An alarm raised on a member.
public struct EtcdAlarm: Sendable, Hashable {
  public enum Kind: String, Sendable, Hashable { case none = "NONE", noSpace = "NOSPACE", corrupt = "CORRUPT" }
  public var memberID: UInt64
  public var kind: Kind
}

/// A member's hash of its key-value store at a revision.
public struct EtcdHashKV: Sendable, Hashable {
  public var hash: UInt32
  public var compactRevision: Int64
  public var revision: Int64
  public var memberID: UInt64
}

extension Array where Element == UInt8 {
  var data: Data { Data(self) }
}
