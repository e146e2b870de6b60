// Entry point of the demo page: the offline simulator and the live view.

import { startLive } from "./live.js";
import { startSimulator } from "./sim.js";

// The live view needs no wasm, so it starts at once; the simulator loads its
// module on its own and says so if it is missing.
window.tidings = { live: startLive() };
startSimulator()
  .then((sim) => {
    window.tidings.sim = sim;
    document.body.dataset.simReady = sim ? "yes" : "no";
  })
  .catch((err) => {
    document.body.dataset.simReady = "no";
    const status = document.getElementById("sim-status");
    status.textContent = `The simulator failed: ${err.message}`;
    status.classList.add("error");
  });
