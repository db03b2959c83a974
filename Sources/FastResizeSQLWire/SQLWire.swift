// SQLWire: a statement, its parameters and its result as bytes — what crosses between the PostgreSQL job store and the driver library it opens at run time.

// The store and the driver are two images (the driver is dlopened so that a plain run never loads
// swift-nio), each with its own copy of this module: only bytes cross, never a Swift value.

/// One value of a parameter or a result cell: the few types the job store's SQL uses.
public enum SQLValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case boolean(Bool)

    public var integer: Int64? { if case .integer(let value) = self { value } else { nil } }
    public var text: String? { if case .text(let value) = self { value } else { nil } }
    public var real: Double? {
        switch self {
        case .real(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }
    public var boolean: Bool? { if case .boolean(let value) = self { value } else { nil } }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let value): "\(value)"
        case .real(let value): "\(value)"
        case .text(let value): "'\(value)'"
        case .boolean(let value): "\(value)"
        }
    }
}

/// One statement to run, with its parameters ($1, $2 …).
public struct SQLStatement: Sendable, Equatable {
    public var sql: String
    public var parameters: [SQLValue]

    public init(_ sql: String, _ parameters: [SQLValue] = []) {
        self.sql = sql
        self.parameters = parameters
    }
}

/// What a statement gave back: its rows (cells by column), and how many rows it changed.
public struct SQLRows: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[SQLValue]]
    public var affected: Int

    public init(columns: [String], rows: [[SQLValue]], affected: Int) {
        self.columns = columns
        self.rows = rows
        self.affected = affected
    }

    /// The first row's cell in `column` (nil without rows or such a column).
    public func first(_ column: String) -> SQLValue? {
        guard let index = columns.firstIndex(of: column), let row = rows.first else { return nil }
        return row[index]
    }

    /// Each row as a lookup by column name.
    public var records: [SQLRecord] { rows.map { SQLRecord(columns: columns, values: $0) } }
}

/// One row, read by column name.
public struct SQLRecord: Sendable {
    let columns: [String]
    let values: [SQLValue]

    public subscript(_ column: String) -> SQLValue {
        guard let index = columns.firstIndex(of: column) else { return .null }
        return values[index]
    }
}

/// Why a statement failed: the server's SQLSTATE and words, or the connection lost (`connection`),
/// after which nothing more can be sent on it.
public struct SQLFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var connectionLost: Bool

    public init(code: String, message: String, connectionLost: Bool) {
        self.code = code
        self.message = message
        self.connectionLost = connectionLost
    }

    public var description: String { code.isEmpty ? message : "\(message) (SQLSTATE \(code))" }
}

/// The bytes of these values: little-endian integers, strings as a length and UTF-8.
public enum SQLWire {
    public static func encode(_ statement: SQLStatement) -> [UInt8] {
        var writer = Writer()
        writer.string(statement.sql)
        writer.values(statement.parameters)
        return writer.bytes
    }

    public static func decodeStatement(_ bytes: UnsafeRawBufferPointer) -> SQLStatement? {
        var reader = Reader(bytes: bytes)
        guard let sql = reader.string(), let parameters = reader.values() else { return nil }
        return SQLStatement(sql, parameters)
    }

    public static func encode(_ rows: SQLRows) -> [UInt8] {
        var writer = Writer()
        writer.integer(Int64(rows.affected))
        writer.integer(Int64(rows.columns.count))
        for column in rows.columns { writer.string(column) }
        writer.integer(Int64(rows.rows.count))
        for row in rows.rows { writer.values(row) }
        return writer.bytes
    }

    public static func decodeRows(_ bytes: UnsafeRawBufferPointer) -> SQLRows? {
        var reader = Reader(bytes: bytes)
        guard let affected = reader.integer(), let columnCount = reader.count() else { return nil }
        var columns: [String] = []
        for _ in 0..<columnCount {
            guard let column = reader.string() else { return nil }
            columns.append(column)
        }
        guard let rowCount = reader.count() else { return nil }
        var rows: [[SQLValue]] = []
        rows.reserveCapacity(rowCount)
        for _ in 0..<rowCount {
            guard let row = reader.values(), row.count == columnCount else { return nil }
            rows.append(row)
        }
        return SQLRows(columns: columns, rows: rows, affected: Int(affected))
    }

    public static func encode(_ failure: SQLFailure) -> [UInt8] {
        var writer = Writer()
        writer.string(failure.code)
        writer.string(failure.message)
        writer.byte(failure.connectionLost ? 1 : 0)
        return writer.bytes
    }

    public static func decodeFailure(_ bytes: UnsafeRawBufferPointer) -> SQLFailure? {
        var reader = Reader(bytes: bytes)
        guard let code = reader.string(), let message = reader.string(), let lost = reader.byte() else { return nil }
        return SQLFailure(code: code, message: message, connectionLost: lost == 1)
    }

    struct Writer {
        var bytes: [UInt8] = []

        mutating func byte(_ value: UInt8) { bytes.append(value) }

        mutating func integer(_ value: Int64) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }

        mutating func string(_ value: String) {
            var value = value
            value.withUTF8 { utf8 in
                integer(Int64(utf8.count))
                bytes.append(contentsOf: utf8)
            }
        }

        mutating func values(_ values: [SQLValue]) {
            integer(Int64(values.count))
            for value in values {
                switch value {
                case .null: byte(0)
                case .integer(let number): byte(1); integer(number)
                case .real(let number): byte(2); integer(Int64(bitPattern: number.bitPattern))
                case .text(let text): byte(3); string(text)
                case .boolean(let flag): byte(4); byte(flag ? 1 : 0)
                }
            }
        }
    }

    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        mutating func byte() -> UInt8? {
            guard offset < bytes.count else { return nil }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func integer() -> Int64? {
            guard offset + 8 <= bytes.count else { return nil }
            defer { offset += 8 }
            return Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
        }

        /// A count that fits what is left (a damaged length must not make a huge array).
        mutating func count() -> Int? {
            guard let value = integer(), value >= 0, value <= bytes.count - offset + 1 << 20 else { return nil }
            return Int(value)
        }

        mutating func string() -> String? {
            guard let length = integer(), length >= 0, offset + Int(length) <= bytes.count else { return nil }
            defer { offset += Int(length) }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + Int(length)]), as: UTF8.self)
        }

        mutating func values() -> [SQLValue]? {
            guard let count = count() else { return nil }
            var values: [SQLValue] = []
            values.reserveCapacity(count)
            for _ in 0..<count {
                switch byte() {
                case 0: values.append(.null)
                case 1: guard let number = integer() else { return nil }; values.append(.integer(number))
                case 2: guard let bits = integer() else { return nil }; values.append(.real(Double(bitPattern: UInt64(bitPattern: bits))))
                case 3: guard let text = string() else { return nil }; values.append(.text(text))
                case 4: guard let flag = byte() else { return nil }; values.append(.boolean(flag == 1))
                default: return nil
                }
            }
            return values
        }
    }
}
