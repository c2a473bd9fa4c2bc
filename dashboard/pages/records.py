"""Records: what staff enter day to day, for their sites: an event and who came (with their role), a home
visit, an appointment to a board or commission, a person or family. Checked with the data contract's rules and
written in one transaction (dashboard/records.py); the other pages show the change on their next view."""
from datetime import date

import streamlit as st

from dashboard import common, data, pickers, records
from dashboard.survey_page import escape
from graph.errors import StoreError
from graph.model import SUPPORTS, TABLES, split_list
from queries.supports import SUPPORT_LABELS

principal = common.principal()
st.title("Records")
if not records.may_enter(principal):
    st.error("Records are entered by coordinators and admins.")
    st.stop()
uri, version = common.load(data.data_key)
ds = common.load(data.site_dataset, principal.site_scope, uri, version)


sites = records.sites_for(principal, ds)
if not sites:
    st.info("Your account has no site with data yet.")
    st.stop()
st.caption("For " + ("every site" if principal.site_scope is None else "your sites: " + ", ".join(sites))
           + ". Each record is checked with the same rules as an uploaded package (docs/data-format.md).")

flash = st.session_state.pop("records_flash", None)
if flash:
    st.success(escape(flash))


def _save(action, done: str) -> None:
    """Run a save; show its problems on the form, or remember the success for the next run."""
    try:
        action()
    except records.RecordInvalid as e:
        st.error("Nothing was saved. Please fix:\n\n" + "\n".join(f"- {records.problem_text(p)}" for p in e.problems))
        return
    except PermissionError as e:
        st.error(f"Nothing was saved: {e}.")
        return
    except StoreError as e:
        st.error(f"Nothing was saved: the store cannot be written ({e}). Try again.")
        return
    st.session_state["records_flash"] = done
    st.rerun()


people, labels, families = common.load(data.record_choices, principal, uri, version)
event_tab, visit_tab, seat_tab, person_tab = st.tabs(["Event and check-in", "Home visit", "Appointment",
                                                      "Person or family"])

with event_tab:
    events = ds.events[ds.events["site_id"].isin(sites)].sort_values("date", ascending=False, na_position="last")
    event_labels = {"new": "A new event"} | {e: f"{n or e} ({d or 'no date'})"
                                               for e, n, d in zip(events["event_id"], events["name"], events["date"])}
    which = st.selectbox("Event", list(event_labels), format_func=event_labels.get, key="rec_event")
    # Not a form: people are checked in search by search (dashboard/pickers.py, from 20,000 people), and a
    # form's choices reach the server only when it is sent, so a search would drop the ones made before it.
    with st.container(border=True):
        if which == "new":
            name = st.text_input("Name", key="rec_event_name", max_chars=records.TEXT_MAX)
            left, mid, right = st.columns(3)
            kind = left.selectbox("Kind", TABLES["events"].enums["kind"], key="rec_event_kind",
                                  format_func=lambda k: k.replace("_", " "))
            when = mid.date_input("Date", value=date.today(), key="rec_event_date")
            site = right.selectbox("Site", sites, key="rec_event_site")
        had = [] if which == "new" else split_list(events.set_index("event_id").at[which, "supports"])
        offered = st.multiselect("Supports offered", SUPPORTS, default=[s for s in had if s in SUPPORTS],
                                 format_func=SUPPORT_LABELS.get, key=f"rec_event_supports_{which}",
                                 placeholder="None recorded",
                                 help="What the school or site offered so that families can take part. The "
                                      "Outreach page compares how often families come with and without them.")
        st.markdown("**Who came.** Type a name to search your sites' people.")
        attendees = pickers.narrowed(labels, key="rec_find_attendees", what="people to check in",
                                     keep=[p for r in TABLES["attendance"].enums["role"]
                                           for p in st.session_state.get(f"rec_{r}") or []])
        chosen = {}
        for role in TABLES["attendance"].enums["role"]:
            picked = st.multiselect(f"{role.capitalize()}s", list(attendees), format_func=labels.get,
                                    key=f"rec_{role}", placeholder="Type a name…")
            for p in picked:
                chosen.setdefault(p, role)
        if st.button("Save the event and check-ins", type="primary", key="rec_event_save"):
            twice = [labels[p] for p in chosen if sum(p in (st.session_state.get(f"rec_{r}") or [])
                                                       for r in TABLES["attendance"].enums["role"]) > 1]
            if twice:
                st.error("Each person can have one role at an event; picked twice: " + ", ".join(twice))
            elif which == "new":
                _save(lambda: records.save_event(data.get_store(), principal, ds, name=name, kind=kind, when=when,
                                                 site_id=site, checkins=chosen, supports=offered),
                      f"Saved the event with {len(chosen)} people checked in.")
            else:
                _save(lambda: records.save_event(data.get_store(), principal, ds, event_id=which, checkins=chosen,
                                                 supports=offered),
                      f"Saved {len(chosen)} check-ins" + ("" if set(offered) == set(had)
                                                          else " and the supports offered") + ".")

with visit_tab:
    teachers = people[people["role"] == "teacher"]
    visit_families = pickers.narrowed(families, key="rec_find_visit_family", what="the family",
                                      keep=[st.session_state.get("rec_visit_family")])
    with st.form("rec_visit_form", clear_on_submit=True):
        teacher = st.selectbox("Teacher", list(teachers["person_id"]), format_func=labels.get, key="rec_visit_teacher",
                               index=None, placeholder="Type a name…")
        family = st.selectbox("Family", list(visit_families), format_func=families.get, key="rec_visit_family", index=None,
                              placeholder="Type a family id or a parent's name…")
        left, right = st.columns(2)
        visited = left.date_input("Date of the visit", value=date.today(), max_value=date.today(), key="rec_visit_date")
        schools = dict(zip(ds.schools["school_id"], ds.schools["name"]))
        school = right.selectbox("School", list(schools), format_func=lambda s: f"{schools[s] or s} ({s})", index=None,
                                 key="rec_visit_school", placeholder="Optional")
        notes = st.text_area("Notes", max_chars=records.NOTE_MAX, key="rec_visit_notes")
        if st.form_submit_button("Save the home visit", type="primary", key="rec_visit_save"):
            if not teacher or not family:
                st.error("Choose the teacher and the family.")
            else:
                _save(lambda: records.save_home_visit(data.get_store(), principal, ds, teacher_id=teacher,
                                                      family_id=family, visit_date=visited, school_id=school,
                                                      notes=notes),
                      "Saved the home visit.")

with seat_tab:
    bodies = dict(zip(ds.bodies["body_id"], ds.bodies["name"]))
    seat_people = pickers.narrowed(labels, key="rec_find_seat_person", what="the person appointed",
                                   keep=[st.session_state.get("rec_seat_person")])
    with st.form("rec_seat_form", clear_on_submit=True):
        person = st.selectbox("Person", list(seat_people), format_func=labels.get, index=None, key="rec_seat_person",
                              placeholder="Type a name…")
        body = st.selectbox("Board, commission or council", list(bodies), format_func=lambda b: f"{bodies[b] or b}",
                            index=None, key="rec_seat_body")
        seat = st.text_input("Seat", placeholder="e.g. parent representative", key="rec_seat_seat",
                             max_chars=records.TEXT_MAX)
        left, right = st.columns(2)
        start = left.date_input("Start date", value=date.today(), key="rec_seat_start")
        end = right.date_input("End date", value=None, key="rec_seat_end")
        if st.form_submit_button("Save the appointment", type="primary", key="rec_seat_save"):
            if not person or not body:
                st.error("Choose the person and the body.")
            else:
                _save(lambda: records.save_appointment(data.get_store(), principal, ds, person_id=person, body_id=body,
                                                       seat=seat, start_date=start, end_date=end),
                      "Saved the appointment.")

with person_tab:
    editable = pickers.narrowed(labels, key="rec_find_person", what="the person to edit",
                                keep=[st.session_state.get("rec_person")])
    who = st.selectbox("Person", ["new"] + list(editable), key="rec_person",
                       format_func=lambda p: "Add a new person" if p == "new" else labels[p])
    current = {} if who == "new" else people.set_index("person_id").loc[who].to_dict()
    fam_options = ["new", ""] + list(pickers.narrowed(families, key="rec_find_person_family",
                                                      what="the person's family"))
    fam_labels = {"new": "A new family", "": "No family"} | families

    def _value(col):
        v = current.get(col)
        return "" if v is None or v != v else str(v)

    with st.form(f"rec_person_form_{who}"):
        name = st.text_input("Name", value=_value("name"), max_chars=records.TEXT_MAX)
        left, right = st.columns(2)
        roles = TABLES["people"].enums["role"]
        role = left.selectbox("Role", roles, index=roles.index(_value("role")) if _value("role") in roles else 0)
        site = right.selectbox("Site", sites, index=sites.index(_value("site_id")) if _value("site_id") in sites else 0)
        fam = _value("family_id")
        if fam and fam not in fam_options:          # their family, offered even when a search did not find it
            fam_options.append(fam)
            fam_labels.setdefault(fam, fam)
        family = st.selectbox("Family", fam_options, format_func=fam_labels.get,
                              index=fam_options.index(fam) if fam in fam_options else 0)
        left, right = st.columns(2)
        fields = {}
        for i, (col, label) in enumerate((("race_ethnicity", "Race/ethnicity"), ("income_band", "Income band"),
                                          ("primary_language", "Primary language"), ("neighborhood", "Neighborhood"),
                                          ("email", "Email"), ("phone", "Phone"))):
            fields[col] = (left if i % 2 == 0 else right).text_input(label, value=_value(col),
                                                                     max_chars=records.TEXT_MAX)
        consents = ["", *TABLES["people"].enums["consent"]]
        consent = st.selectbox("Consent", consents, index=consents.index(_value("consent"))
                               if _value("consent") in consents else 0,
                               format_func=lambda c: c or f"the program's default ({data.consent_default()})")
        if st.form_submit_button("Save the person", type="primary"):
            values = {"name": name, "role": role, "site_id": site, "family_id": family, "consent": consent, **fields}
            _save(lambda: records.save_person(data.get_store(), principal, ds, values,
                                              person_id=None if who == "new" else who),
                  f"Saved {name}.")
