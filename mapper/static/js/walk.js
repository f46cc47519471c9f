/*
 * Walk page map: the walk's route and its findings, from the JSON embedded in the page (no second request, so the
 * map draws as soon as Leaflet has loaded). GeoJSON is [lon, lat]; L.geoJSON handles the order. User text reaches the
 * page only through textContent, never innerHTML.
 */
/* global L */
(function () {
  'use strict';

  var container = document.getElementById('walk-map');
  var source = document.getElementById('walk-data');
  if (!container || !source || typeof L === 'undefined') { return; }
  var data = JSON.parse(source.textContent);

  var map = L.map(container);
  L.tileLayer(container.getAttribute('data-tiles-url'), {
    attribution: container.getAttribute('data-tiles-attribution'), maxZoom: 19
  }).addTo(map);

  var route = L.geoJSON(data.walk, {style: {color: '#253494', weight: 4, opacity: 0.85}}).addTo(map);

  function popup(feature) {
    var box = document.createElement('div');
    var title = document.createElement('strong');
    title.textContent = (feature.properties.ref || '') + ' ' + (feature.properties.category || '');
    box.appendChild(title);
    if (feature.properties.description) {
      var text = document.createElement('p');
      text.className = 'description';
      text.textContent = feature.properties.description;
      box.appendChild(text);
    }
    return box;
  }

  var findings = L.geoJSON({type: 'FeatureCollection', features: data.findings || []}, {
    pointToLayer: function (feature, latlng) {
      return L.circleMarker(latlng, {radius: 8, color: '#fff', weight: 2, fillColor: '#d7301f', fillOpacity: 0.9});
    },
    onEachFeature: function (feature, layer) { layer.bindPopup(popup(feature)); }
  }).addTo(map);

  var bounds = route.getBounds();
  if (findings.getLayers().length) { bounds.extend(findings.getBounds()); }
  if (bounds.isValid()) { map.fitBounds(bounds, {padding: [20, 20]}); } else { map.setView([52.7, -1.3], 13); }
}());
