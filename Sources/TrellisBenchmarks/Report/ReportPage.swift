import Foundation

/// The HTML of `trellis report`: one page, no scripts, every plot inline.
struct ReportPage {
    let quick: Bool
    let started: Date
    let machine: [(String, String)]
    let outcomes: [SeedReport.Outcome]

    func html() -> String {
        let date = ISO8601DateFormatter().string(from: started)
        var body = """
            <h1>Trellis: the papers' figures, measured here</h1>
            <p>Started \(escape(date)), \(quick ? "quick sizes (<code>trellis report --quick</code>)" : "full sizes (<code>trellis report</code>)"). \
            Every figure is measured in one run beside its baselines; ratios compare numbers taken on this machine, in this run.</p>
            <h2>Machine</h2>
            <table>\(machine.map { "<tr><th>\(escape($0.0))</th><td>\(escape($0.1))</td></tr>" }.joined())</table>
            <h2>Contents</h2>
            <ol>\(outcomes.enumerated().map { "<li><a href=\"#part\($0.offset)\">\(escape($0.element.section.title))</a>\($0.element.failure == nil ? "" : " (did not run)")</li>" }.joined())</ol>
            """
        for (index, outcome) in outcomes.enumerated() {
            body += """
                <h2 id="part\(index)">\(escape(outcome.section.title))</h2>
                <p class="paper">\(escape(outcome.section.paper))</p>
                <p>\(escape(outcome.section.explanation))</p>
                <p class="command"><code>trellis \(escape(outcome.section.arguments.joined(separator: " ")))</code> (\(Int(outcome.seconds)) s)</p>
                """
            if let failure = outcome.failure { body += "<pre class=\"failure\">Did not run here: \(escape(failure))</pre>" }
            for plot in outcome.plots { body += "<div class=\"plot\">\(inline(svg: plot))</div>" }
            body += table(outcome.records)
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Trellis report \(escape(date))</title>
            <style>
            body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
            table { border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }
            th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
            th { background: #f3f3f3; }
            td.text { text-align: left; }
            .paper { font-style: italic; color: #555; }
            .failure { background: #fff3f3; padding: 0.5em; white-space: pre-wrap; }
            .plot svg { max-width: 100%; height: auto; }
            </style></head><body>
            \(body)
            </body></html>
            """
    }

    /// The JSON lines as one table: a column per key, `bench` first.
    private func table(_ records: [[String: Any]]) -> String {
        guard !records.isEmpty else { return "" }
        var keys: [String] = []
        for record in records { for key in record.keys.sorted() where !keys.contains(key) { keys.append(key) } }
        keys.sort { ($0 == "bench" ? 0 : 1, $0) < ($1 == "bench" ? 0 : 1, $1) }
        var html = "<table><tr>" + keys.map { "<th>\(escape($0.replacingOccurrences(of: "_", with: " ")))</th>" }.joined() + "</tr>"
        for record in records {
            html += "<tr>" + keys.map { key in
                let value = record[key]
                let text = value.map(describe) ?? ""
                return value is String ? "<td class=\"text\">\(escape(text))</td>" : "<td>\(escape(text))</td>"
            }.joined() + "</tr>"
        }
        return html + "</table>"
    }

    private func describe(_ value: Any) -> String {
        switch value {
        case let text as String: return text
        case let object as [String: Any]:
            return object.keys.sorted().map { "\($0): \(describe(object[$0]!))" }.joined(separator: ", ")
        case let list as [Any]: return list.map(describe).joined(separator: ", ")
        default:
            // Flags read back as true and false; numbers as they were written.
            let text = "\(value)"
            return text == "true" ? "yes" : text == "false" ? "no" : text
        }
    }

    /// An SVG file's drawing, without its XML declaration.
    private func inline(svg: String) -> String {
        guard let start = svg.range(of: "<svg") else { return "" }
        return String(svg[start.lowerBound...])
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
