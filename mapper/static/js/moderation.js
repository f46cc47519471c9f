/*
 * Moderation page: a small map for each pending contribution, so a moderator sees where it is without leaving the
 * page. Positions come from data-lat/data-lon (numbers the server wrote); no user text is read or written here.
 * Leaflet is [lat, lon]. Without JavaScript the page still links to the zone map and OpenStreetMap.
 */
/* global L */
(function () {
  'use strict';

  if (typeof L === 'undefined') { return; }
  var tiles = document.querySelector('.map-tiles');
  var boxes = document.querySelectorAll('.mini-map[data-lat][data-lon]');

  function draw(box) {
    var lat = parseFloat(box.getAttribute('data-lat'));
    var lon = parseFloat(box.getAttribute('data-lon'));
    if (!isFinite(lat) || !isFinite(lon)) { return; }
    var map = L.map(box, {scrollWheelZoom: false}).setView([lat, lon], 17);
    if (tiles) {
      L.tileLayer(tiles.getAttribute('data-tiles-url'), {
        attribution: tiles.getAttribute('data-tiles-attribution'), maxZoom: 19
      }).addTo(map);
    }
    L.circleMarker([lat, lon], {radius: 9, color: '#fff', weight: 2, fillColor: '#b35806', fillOpacity: 0.95})
      .addTo(map);
    box.classList.add('mini-map--ready');
  }

  // Draw a map when it scrolls into view: a long queue does not load every map's tiles at once.
  if ('IntersectionObserver' in window) {
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) { observer.unobserve(entry.target); draw(entry.target); }
      });
    }, {rootMargin: '200px'});
    Array.prototype.forEach.call(boxes, function (box) { observer.observe(box); });
  } else {
    Array.prototype.forEach.call(boxes, draw);
  }
}());
