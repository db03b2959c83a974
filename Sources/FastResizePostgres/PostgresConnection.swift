// PostgresConnection: the driver library (libFastResizePostgresDriver.so) opened once per process, and one connection through it that runs statements and waits for notifications.

import FastResizeJobs
import FastResizeSQLWire
import Foundation

/// The driver's entry points, from the library opened once per process (its paths are tried in
/// order: beside the binary, then an install's lib folder).
struct PostgresDriver: @unchecked Sendable {
    typealias Connect = @convention(c) (UnsafePointer<CChar>, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> UnsafeMutableRawPointer?
    typealias Run = @convention(c) (UnsafeMutableRawPointer, UnsafeRawPointer, Int, UnsafeMutablePointer<UnsafeMutableRawPointer?>,
                                    UnsafeMutablePointer<Int>) -> Int32
    typealias Listen = @convention(c) (UnsafeMutableRawPointer, UnsafePointer<CChar>) -> Int32
    typealias Wait = @convention(c) (UnsafeMutableRawPointer, Int32) -> Int32
    typealias Close = @convention(c) (UnsafeMutableRawPointer) -> Void

    let connect: Connect
    let run: Run
    let listen: Listen
    let wait: Wait
    let close: Close

    static let libraryName = PostgresJobStore.driverLibrary
    private static let loaded = NSLock()
    nonisolated(unsafe) private static var driver: PostgresDriver?

    /// The driver, opened from the first of `paths` that exists.
    static func load(from paths: [String]) throws(StoreError) -> PostgresDriver {
        loaded.lock()
        defer { loaded.unlock() }
        if let driver { return driver }
        let path = paths.first { FileManager.default.fileExists(atPath: $0) } ?? paths.first ?? libraryName
        guard let library = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "cannot open it"
            throw StoreError("a PostgreSQL job store needs FastResize's driver library, \(path), which cannot be opened (\(reason)); "
                             + "`swift build` builds it beside the binary, and the release tarball installs it in lib/fastresize")
        }
        func symbol<T>(_ name: String, as type: T.Type) throws(StoreError) -> T {
            guard let address = dlsym(library, name) else { throw StoreError("\(path) is not FastResize's PostgreSQL driver (no \(name))") }
            return unsafeBitCast(address, to: type)
        }
        let loaded = PostgresDriver(connect: try symbol("fastresize_pg_connect", as: Connect.self),
                                    run: try symbol("fastresize_pg_run", as: Run.self),
                                    listen: try symbol("fastresize_pg_listen", as: Listen.self),
                                    wait: try symbol("fastresize_pg_wait", as: Wait.self),
                                    close: try symbol("fastresize_pg_close", as: Close.self))
        driver = loaded
        return loaded
    }
}

/// One connection to the server. Not safe from two threads at once: the store serialises its use.
final class PostgresSession {
    private let driver: PostgresDriver
    private var handle: UnsafeMutableRawPointer?

    /// Connects to `address` (a postgres:// URL); throws what the server or the network said.
    init(driver: PostgresDriver, address: String) throws(SQLFailure) {
        self.driver = driver
        var failure: UnsafeMutablePointer<CChar>?
        guard let handle = driver.connect(address, &failure) else {
            let message = failure.map { String(cString: $0) } ?? "cannot connect"
            free(failure)
            throw SQLFailure(code: "", message: message, connectionLost: true)
        }
        self.handle = handle
    }

    deinit {
        if let handle { driver.close(handle) }
    }

    /// Runs one statement; its rows, or why it failed.
    @discardableResult
    func run(_ sql: String, _ parameters: [SQLValue] = []) throws(SQLFailure) -> SQLRows {
        guard let handle else { throw SQLFailure(code: "", message: "the connection is closed", connectionLost: true) }
        let request = SQLWire.encode(SQLStatement(sql, parameters))
        var reply: UnsafeMutableRawPointer?
        var length = 0
        let status = request.withUnsafeBytes { driver.run(handle, $0.baseAddress!, $0.count, &reply, &length) }
        defer { free(reply) }
        let bytes = UnsafeRawBufferPointer(start: reply, count: length)
        if status == 0, let rows = SQLWire.decodeRows(bytes) { return rows }
        throw SQLWire.decodeFailure(bytes) ?? SQLFailure(code: "", message: "an answer the store cannot read", connectionLost: false)
    }

    /// LISTEN on `channel`; notifications then end `wait`.
    func listen(_ channel: String) throws(SQLFailure) {
        guard let handle, driver.listen(handle, channel) == 0 else {
            throw SQLFailure(code: "", message: "cannot listen for notifications", connectionLost: true)
        }
    }

    /// Waits up to `seconds` for a notification: whether one came. Throws when the connection is gone.
    func wait(seconds: Double) throws(SQLFailure) -> Bool {
        guard let handle else { throw SQLFailure(code: "", message: "the connection is closed", connectionLost: true) }
        switch driver.wait(handle, Int32(min(seconds, 3600) * 1000)) {
        case 1: return true
        case 0: return false
        default: throw SQLFailure(code: "", message: "the connection to PostgreSQL was lost", connectionLost: true)
        }
    }
}
