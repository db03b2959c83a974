// PostgresDriver: one PostgreSQL connection (postgres-nio) behind five C entry points — connect, run a statement, listen, wait for a notification, close — in a library of its own that the command opens only when --state postgres://… asks.

import FastResizeSQLWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

// The job store calls these from its own threads and waits for each answer (`wait()` on a
// future, never on an event loop): its protocol is synchronous, as SQLite's is. Statements and
// results cross as bytes (SQLWire), so the two images share no Swift value.

/// A connection and what listens on it.
final class DriverConnection: Sendable {
    let connection: PostgresConnection
    let notified = DispatchSemaphore(value: 0)
    let listening = Mutex<[PostgresListenContext]>([])
    static let logger = Logger(label: "fastresize.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Runs one statement and waits for all its rows.
    func run(_ statement: SQLStatement) -> Result<SQLRows, SQLFailure> {
        if connection.isClosed { return .failure(Self.lost("the connection to PostgreSQL is closed")) }
        do {
            var binds = PostgresBindings(capacity: statement.parameters.count)
            for parameter in statement.parameters {
                switch parameter {
                case .null: binds.appendNull()
                case .integer(let value): binds.append(value)
                case .real(let value): binds.append(value)
                case .text(let value): binds.append(value)
                case .boolean(let value): binds.append(value)
                }
            }
            let result = try connection.query(PostgresQuery(unsafeSQL: statement.sql, binds: binds), logger: Self.logger).wait()
            return .success(try Self.rows(result.rows, affected: result.metadata.rows ?? 0))
        } catch let failure as SQLFailure {
            return .failure(failure)
        } catch {
            return .failure(Self.failure(error, closed: connection.isClosed))
        }
    }

    /// The cells of `rows` as wire values, by their PostgreSQL type.
    static func rows(_ rows: [PostgresRow], affected: Int) throws -> SQLRows {
        var columns: [String] = []
        var values: [[SQLValue]] = []
        values.reserveCapacity(rows.count)
        for row in rows {
            if columns.isEmpty { columns = row.map(\.columnName) }
            values.append(try row.map(value))
        }
        return SQLRows(columns: columns, rows: values, affected: affected)
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int8: return .integer(try cell.decode(Int64.self))
        case .int4: return .integer(Int64(try cell.decode(Int32.self)))
        case .int2: return .integer(Int64(try cell.decode(Int16.self)))
        case .float8, .float4: return .real(try cell.decode(Double.self))
        case .bool: return .boolean(try cell.decode(Bool.self))
        case .text, .varchar, .bpchar, .name: return .text(try cell.decode(String.self))
        case .void: return .null
        default:
            throw SQLFailure(code: "", message: "column \(cell.columnName) has type \(cell.dataType), which the job store does not read",
                             connectionLost: false)
        }
    }

    /// The server's SQLSTATE and words, or why the connection failed.
    static func failure(_ error: any Error, closed: Bool) -> SQLFailure {
        guard let error = error as? PSQLError else { return SQLFailure(code: "", message: "\(error)", connectionLost: closed) }
        if let info = error.serverInfo {
            let words = [info[.message], info[.detail]].compactMap { $0 }.joined(separator: ": ")
            let code = info[.sqlState] ?? ""
            // The server going away says so before it closes the connection (an administrator's
            // shutdown, a crash, still starting up, class 08): worth connecting again, not a
            // failure of the statement.
            let goingAway = code.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(code)
            return SQLFailure(code: code, message: words, connectionLost: closed || goingAway)
        }
        let lostCodes: [PSQLError.Code] = [.serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown]
        let underlying = error.underlying.map { ": \($0)" } ?? ""
        return SQLFailure(code: "", message: "PostgreSQL connection: \(error.code)\(underlying)",
                          connectionLost: closed || lostCodes.contains(error.code))
    }

    static func lost(_ message: String) -> SQLFailure {
        SQLFailure(code: "", message: message, connectionLost: true)
    }
}

/// The parts of a postgres:// address the connection needs (its query, such as ?schema=, is the
/// store's).
struct ConnectionAddress {
    var configuration: PostgresConnection.Configuration

    init(_ text: String) throws(SQLFailure) {
        guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme?.lowercased() ?? "") else {
            throw SQLFailure(code: "", message: "\(text) is not a postgres://user@host:port/database address", connectionLost: false)
        }
        let host = url.host?.isEmpty == false ? url.host! : "127.0.0.1"
        let user = url.user?.isEmpty == false ? url.user! : (ProcessInfo.processInfo.environment["PGUSER"] ?? "postgres")
        let password = url.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
        let database = url.path.count > 1 ? String(url.path.dropFirst()) : user
        configuration = PostgresConnection.Configuration(host: host, port: url.port ?? 5432, username: user, password: password,
                                                         database: database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
    }
}

/// Connects; returns a handle, or nil with `failure` set (from `malloc`; the caller frees it).
@_cdecl("fastresize_pg_connect")
public func fastresizePostgresConnect(_ address: UnsafePointer<CChar>,
                                      _ failure: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> UnsafeMutableRawPointer? {
    do {
        let address = try ConnectionAddress(String(cString: address))
        let connection = try PostgresConnection.connect(on: PostgresConnection.defaultEventLoopGroup.any(),
                                                        configuration: address.configuration, id: 1,
                                                        logger: DriverConnection.logger).wait()
        return Unmanaged.passRetained(DriverConnection(connection: connection)).toOpaque()
    } catch let error as SQLFailure {
        failure.pointee = strdup(error.message)
    } catch {
        failure.pointee = strdup(DriverConnection.failure(error, closed: true).message)
    }
    return nil
}

/// Runs the statement in `request` (SQLWire bytes). Returns 0 with the rows in `reply`, or 1 with
/// the failure there; the reply comes from `malloc` (the caller frees it).
@_cdecl("fastresize_pg_run")
public func fastresizePostgresRun(_ handle: UnsafeMutableRawPointer, _ request: UnsafeRawPointer, _ length: Int,
                                  _ reply: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ replyLength: UnsafeMutablePointer<Int>) -> Int32 {
    let driver = Unmanaged<DriverConnection>.fromOpaque(handle).takeUnretainedValue()
    let outcome: Result<SQLRows, SQLFailure> = if let statement = SQLWire.decodeStatement(UnsafeRawBufferPointer(start: request, count: length)) {
        driver.run(statement)
    } else {
        .failure(SQLFailure(code: "", message: "a statement the driver cannot read", connectionLost: false))
    }
    let (status, bytes): (Int32, [UInt8]) = switch outcome {
    case .success(let rows): (0, SQLWire.encode(rows))
    case .failure(let failure): (1, SQLWire.encode(failure))
    }
    let buffer = malloc(max(bytes.count, 1))!
    bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    reply.pointee = buffer
    replyLength.pointee = bytes.count
    return status
}

/// Listens on `channel` (LISTEN, once established); each notification then wakes one
/// `fastresize_pg_wait`, and so does the connection's end. Returns 0, or -1 when the listen could
/// not start. On the connection's event loop, not in a Swift task: the caller may be a thread of
/// the few that tasks share, waiting (a test process's), and the listening must not need one.
@_cdecl("fastresize_pg_listen")
public func fastresizePostgresListen(_ handle: UnsafeMutableRawPointer, _ channel: UnsafePointer<CChar>) -> Int32 {
    let driver = Unmanaged<DriverConnection>.fromOpaque(handle).takeUnretainedValue()
    let name = String(cString: channel)
    let context = driver.connection.addListener(channel: name) { _, _ in driver.notified.signal() }
    driver.listening.withLock { $0.append(context) }
    driver.connection.closeFuture.whenComplete { _ in driver.notified.signal() }
    // The listener's own LISTEN goes out ahead of any statement sent after it, so this one's
    // answer says it is in place (a second LISTEN of a channel changes nothing; it also leaves
    // the session shown as listening in pg_stat_activity, as the first did).
    let listen = PostgresQuery(unsafeSQL: "LISTEN \"\(name.replacingOccurrences(of: "\"", with: "\"\""))\"")
    guard (try? driver.connection.query(listen, logger: DriverConnection.logger).wait()) != nil else { return -1 }
    return driver.connection.isClosed ? -1 : 0
}

/// Waits up to `milliseconds` for a notification: 1 when one came, 0 when none did, -1 when the
/// connection is gone.
@_cdecl("fastresize_pg_wait")
public func fastresizePostgresWait(_ handle: UnsafeMutableRawPointer, _ milliseconds: Int32) -> Int32 {
    let driver = Unmanaged<DriverConnection>.fromOpaque(handle).takeUnretainedValue()
    let woken = driver.notified.wait(timeout: .now() + .milliseconds(Int(milliseconds))) == .success
    if driver.connection.isClosed { return -1 }
    return woken ? 1 : 0
}

/// Closes the connection and frees the handle.
@_cdecl("fastresize_pg_close")
public func fastresizePostgresClose(_ handle: UnsafeMutableRawPointer) {
    let driver = Unmanaged<DriverConnection>.fromOpaque(handle).takeRetainedValue()
    driver.listening.withLock { $0.forEach { $0.stop() } }
    try? driver.connection.close().wait()
}
