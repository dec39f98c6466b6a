import Glibc

/// A failed expectation inside a rank: printed with the rank, and the rank exits 1.
struct CheckFailure: Error, CustomStringConvertible {
    let description: String
}

func expect(_ condition: @autoclosure () throws -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) throws {
    guard try condition() else { throw CheckFailure(description: "\(file):\(line): \(message())") }
}

func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) throws {
    guard actual == expected else {
        throw CheckFailure(description: "\(file):\(line): \(what()): got \(actual), expected \(expected)")
    }
}

/// Runs `body` and returns the error it throws, or fails when it throws none.
func expectError<T>(_ what: String, _ body: () throws -> T) throws -> Error {
    do {
        _ = try body()
    } catch {
        return error
    }
    throw CheckFailure(description: "\(what): expected an error, got none")
}
