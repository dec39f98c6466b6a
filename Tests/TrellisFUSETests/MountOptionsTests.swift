import Testing
import TrellisFSProtocol
@testable import TrellisFUSE

/// `-o` lists: Trellis's own options are read and checked, the rest go to libfuse.
struct MountOptionsTests {
    @Test func ownOptionsAreReadAndOthersPassedOn() throws {
        let options = try MountOptions(parsing: ["negative_timeout=0.5,entry_timeout=2", "allow_other,max_threads=8"])
        #expect(options.negativeTimeout == 0.5 && options.entryTimeout == 2 && options.attributeTimeout == 1)
        #expect(options.maxThreads == 8 && options.passedOn == ["allow_other"])
        #expect(MountOptions().negativeTimeout == 1)
    }

    @Test(arguments: ["negative_timeout=soon", "negative_timeout=-1", "negative_timeout", "max_threads=0", "readdirplus=maybe"])
    func badValuesAreRefusedByName(option: String) {
        do {
            _ = try MountOptions(parsing: [option])
            Issue.record("\(option) was taken")
        } catch let error as FSError {
            #expect(error.code == .invalidArgument && "\(error)".contains(String(option.prefix(while: { $0 != "=" }))), "\(error)")
        } catch {
            Issue.record("\(option): \(error)")
        }
    }
}
