#if canImport(os)
import AccessCore
import os

/// Core logs in the unified log (Console.app), one category per Rust module.
/// Apple platforms only: not compiled, nor tested, on Linux.
public final class OSLogLogger: CoreLogger, @unchecked Sendable {
    private let subsystem: String

    public init(subsystem: String) { self.subsystem = subsystem }

    public func log(level: LogLevel, target: String, message: String) {
        let logger = Logger(subsystem: subsystem, category: target)
        switch level {
        case .error: logger.error("\(message, privacy: .public)")
        case .warn: logger.warning("\(message, privacy: .public)")
        case .info: logger.info("\(message, privacy: .public)")
        case .debug, .trace: logger.debug("\(message, privacy: .public)")
        }
    }
}
#endif
