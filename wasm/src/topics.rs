//! The binding of the simulator's topics: the `Simulation` methods that
//! give a client selectors and grants, and publish updates to topics. Thin
//! like the rest: each converts a plain object, calls [`crate::sim::Sim`]
//! and converts the answer; the rules live in `sim::topics`.

use wasm_bindgen::prelude::*;

use crate::Simulation;
use crate::convert::{from_js, js_error};
use crate::sim::{ClientFilter, Update};

#[wasm_bindgen]
extern "C" {
    /// A `ClientFilter` object from JavaScript.
    #[wasm_bindgen(typescript_type = "ClientFilter")]
    #[derive(Debug)]
    pub type ClientFilterObject;

    /// An `Update` object from JavaScript.
    #[wasm_bindgen(typescript_type = "Update")]
    #[derive(Debug)]
    pub type UpdateObject;
}

#[wasm_bindgen]
impl Simulation {
    /// Gives `name` (created if new) the selectors and grants its next
    /// connections open with, as a stream's `match=` parameters and token
    /// do: no selector selects every event; private events need a grant
    /// matching one of their topics. Throws while `name` is connected (a
    /// connection keeps what it was opened with), and for a matcher that
    /// does not compile. Relative URL patterns resolve against
    /// `https://example.com/.well-known/mercure`.
    ///
    /// ```js
    /// const sim = new Simulation();
    /// sim.setFilter("A", { selectors: [{ match: "/items/:pn", matchType: "urlpattern" }], grants: [{ match: "*" }] });
    /// sim.connect("A", true);
    /// sim.connect("B", true);
    /// sim.publishUpdate({ topics: ["https://example.com/items/P-001"], private: true, data: "secret" });
    /// const [a, b] = sim.clients();
    /// console.assert(a.privateReceived === 1 && b.privateReceived === 0);
    /// console.assert(a.selectors[0].matchType === "urlpattern" && a.grants[0].matchType === "exact");
    /// console.assert(sim.script.startsWith("filter:A:match_urlpattern=/items/:pn;grant=*,"));
    /// let threw = false;
    /// try { sim.setFilter("A", {}); } catch (e) { threw = /disconnect it/.test(e.message); }
    /// console.assert(threw);
    /// threw = false;
    /// try { sim.setFilter("C", { selector: [] }); } catch (e) { threw = /unknown field/.test(e.message); }
    /// console.assert(threw);
    /// ```
    #[wasm_bindgen(js_name = setFilter)]
    pub fn set_filter(&mut self, name: &str, filter: ClientFilterObject) -> Result<(), JsError> {
        let filter: ClientFilter = from_js(&filter, "filter")?;
        self.sim.set_filter(name, filter).map_err(js_error)
    }

    /// Publishes one update, as `POST /api/publish` with a JSON body would:
    /// `data` (text), and optionally `type`, `topics`, `private` and `id`
    /// (the publisher's id, then the event's SSE id). Checked as the server
    /// checks it: reserved types, at most 32 topics, a private update needs
    /// a topic, an `id` spelled like a generated one is refused. Returns
    /// the id once stored, like `publish`.
    ///
    /// ```js
    /// const sim = new Simulation({ seed: 1 });
    /// sim.connect("A", true);
    /// console.assert(sim.publishUpdate({ type: "note", data: "{}", topics: ["urn:a"] }) === "s1-1");
    /// console.assert(sim.publishUpdate({ data: "x", topics: ["urn:a"], id: "order-7" }) === "order-7");
    /// sim.advance(1);
    /// const last = sim.log("A").at(-1);
    /// console.assert(last.id === "order-7" && last.seq === 2 && last.type === "message" && last.topics[0] === "urn:a");
    /// console.assert(sim.ring().events[1].suppliedId === "order-7");
    /// let threw = false;
    /// try { sim.publishUpdate({ data: "x", private: true }); } catch (e) { threw = /needs a topic/.test(e.message); }
    /// console.assert(threw);
    /// ```
    #[wasm_bindgen(js_name = publishUpdate)]
    pub fn publish_update(&mut self, update: UpdateObject) -> Result<Option<String>, JsError> {
        let update: Update = from_js(&update, "update")?;
        self.sim.publish_update(&update).map_err(js_error)
    }
}
