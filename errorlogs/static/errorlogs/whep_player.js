/* The demo WHEP player (templates/errorlogs/demo_player.html): plays a MediaMTX path over
 * WebRTC and reports what fails through reporter.js. */
(function () {
  "use strict";
  var root = document.getElementById("el-player");
  var video = document.getElementById("el-video");
  var status = document.getElementById("el-status");
  var form = document.getElementById("el-player-form");
  var reporter = BroadcastOpsReporter.create({
    endpoint: root.dataset.endpoint,
    retryBaseMs: parseInt(root.dataset.retryBaseMs, 10),
    retryMaxMs: parseInt(root.dataset.retryMaxMs, 10)
  });
  window.demoPlayer = {reporter: reporter, state: "idle"};
  var pc = null;

  function show(text, state) {
    status.textContent = text;
    window.demoPlayer.state = state;
  }

  function gathered(connection) {
    if (connection.iceGatheringState === "complete") { return Promise.resolve(); }
    return new Promise(function (resolve) {
      var done = function () { resolve(); };
      connection.addEventListener("icegatheringstatechange", function () {
        if (connection.iceGatheringState === "complete") { done(); }
      });
      setTimeout(done, 2000);
    });
  }

  function play(whepUrl, streamId) {
    if (pc) { pc.close(); }
    pc = reporter.watch(new RTCPeerConnection(), {streamId: streamId, whepUrl: whepUrl});
    pc.addTransceiver("video", {direction: "recvonly"});
    pc.addTransceiver("audio", {direction: "recvonly"});
    pc.ontrack = function (event) { video.srcObject = event.streams[0]; };
    show(root.dataset.textConnecting, "connecting");
    return pc.createOffer().then(function (offer) {
      return pc.setLocalDescription(offer);
    }).then(function () {
      return gathered(pc);
    }).then(function () {
      return reporter.whepFetch(whepUrl, {
        method: "POST", body: pc.localDescription.sdp, headers: {"Content-Type": "application/sdp"}
      }, {streamId: streamId});
    }).then(function (response) {
      if (!response.ok) {
        show(root.dataset.textRefused.replace("{status}", response.status), "failed");
        return null;
      }
      return response.text().then(function (answer) {
        show(root.dataset.textPlaying, "playing");
        return pc.setRemoteDescription({type: "answer", sdp: answer});
      });
    }).catch(function (error) {
      show(root.dataset.textUnreachable, "failed");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    play(document.getElementById("el-whep-url").value, document.getElementById("el-stream-id").value);
  });
})();
