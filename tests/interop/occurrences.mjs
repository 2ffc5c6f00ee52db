// Read .ics files with ical.js (the parser inside Thunderbird) and print, as JSON, every
// VEVENT's occurrences before UNTIL: UTC instants for timed events, dates for all-day ones.
// Usage: node occurrences.mjs UNTIL FILE.ics...   (used by tests/test_interop.py)
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const [untilArg, ...files] = process.argv.slice(2);
const until = ICAL.Time.fromJSDate(new Date(untilArg), true);
const result = {};
for (const file of files) {
  const root = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
  // Zones come from the file itself: ical.js knows no zone but UTC on its own.
  for (const zone of root.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(zone);
  }
  const events = {};
  for (const vevent of root.getAllSubcomponents("vevent")) {
    const event = new ICAL.Event(vevent);
    const show = (time) => (time.isDate ? time.toString().slice(0, 10)
      : time.toJSDate().toISOString().replace(".000Z", "Z"));
    const occurrences = [];
    const iterator = event.iterator();
    for (let next = iterator.next(); next && next.compare(until) < 0; next = iterator.next()) {
      const details = event.getOccurrenceDetails(next);
      occurrences.push([show(details.startDate), show(details.endDate)]);
    }
    events[event.uid] = {
      summary: event.summary,
      location: event.location,
      description: event.description,
      status: vevent.getFirstPropertyValue("status"),
      occurrences,
    };
  }
  for (const zone of root.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.remove(zone.getFirstPropertyValue("tzid"));
  }
  result[file] = {
    name: root.getFirstPropertyValue("x-wr-calname"),
    events,
  };
}
process.stdout.write(JSON.stringify(result));
