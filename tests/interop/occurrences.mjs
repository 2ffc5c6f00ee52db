// Read .ics files with ical.js (the parser inside Thunderbird) and print, as JSON, every
// series' occurrences before UNTIL: UTC instants for timed events, dates for all-day ones,
// and whether each is cancelled. Overrides (RECURRENCE-ID) are related to their series as
// Thunderbird does (relateException), so an occurrence shows as its override says.
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
  const vevents = root.getAllSubcomponents("vevent");
  const overrides = vevents.filter((v) => v.hasProperty("recurrence-id"));
  for (const vevent of vevents.filter((v) => !v.hasProperty("recurrence-id"))) {
    const event = new ICAL.Event(vevent);
    for (const override of overrides) {
      if (override.getFirstPropertyValue("uid") === event.uid) {
        event.relateException(new ICAL.Event(override));
      }
    }
    const cancelled = (component) => component.getFirstPropertyValue("status") === "CANCELLED";
    const show = (time) => (time.isDate ? time.toString().slice(0, 10)
      : time.toJSDate().toISOString().replace(".000Z", "Z"));
    const occurrences = [];
    const iterator = event.iterator();
    for (let next = iterator.next(); next && next.compare(until) < 0; next = iterator.next()) {
      const details = event.getOccurrenceDetails(next);
      occurrences.push([show(details.startDate), show(details.endDate),
        cancelled(details.item.component) || cancelled(vevent)]);
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
